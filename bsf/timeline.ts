/**
 * The device event timeline (C9): every Ub outcome of an IMPI, with a reason a person can act on, kept in the
 * store (capped per IMPI, with a TTL — shared/store/ops.ts), and each new session indexed by IMPI for the admin
 * API. Writes never delay or fail a Ub answer: they run beside it, bounded, and a store error is only logged.
 */
import type { Logger } from '../shared/log.js';
import type { OpsStore } from '../shared/store/ops.js';
import type { SessionStore } from '../shared/store/types.js';

/** What the Ub handler reports; `outcome` is a gba_ub_outcomes_total label. */
export interface UbOutcomeRecorder {
  onOutcome(impi: string | undefined, outcome: string, reason: string, btid?: string): void;
}

/** Reasons for outcomes whose answer is a fresh challenge rather than an error (the error's detail is used otherwise). */
export const CHALLENGE_REASONS: Readonly<Record<string, string>> = {
  wrong_res:
    'the digest response did not verify (wrong RES): check K/OPc and the algorithm; a fresh challenge was sent',
  sync_failure:
    'SQN out of range on the USIM (AUTS): resynchronised from SQN_MS at the HSS; a fresh challenge was sent',
};

/** The `detail` of a problem+json body, or a fallback: the reason the device's failure is shown with. */
export function reasonFromBody(outcome: string, body: string | Buffer | undefined): string {
  if (outcome === 'ok') return 'bootstrapped';
  try {
    const d = (JSON.parse(String(body ?? '')) as { detail?: unknown }).detail;
    if (typeof d === 'string' && d) return d;
  } catch {
    /* not JSON */
  }
  return CHALLENGE_REASONS[outcome] ?? outcome.replace(/_/g, ' ');
}

export class StoreTimeline implements UbOutcomeRecorder {
  #pending = 0;
  #dropped = 0;

  constructor(
    readonly ops: OpsStore,
    readonly sessions: SessionStore,
    readonly log: Logger,
    readonly now: () => number = Date.now,
    readonly maxPending = 1000,
  ) {}

  onOutcome(impi: string | undefined, outcome: string, reason: string, btid?: string): void {
    if (!impi) return; // no identity, no device to show it for
    if (this.#pending >= this.maxPending) {
      // The store is slow or gone: keep Ub answering, say how many were lost.
      if (this.#dropped++ % 1000 === 0)
        this.log.warn({ dropped: this.#dropped }, 'timeline: store too slow, events dropped');
      return;
    }
    this.#pending++;
    void this.#write(impi, outcome, reason, btid)
      .catch((err: unknown) => this.log.warn({ err }, 'timeline: store write failed'))
      .finally(() => {
        this.#pending--;
      });
  }

  async #write(impi: string, outcome: string, reason: string, btid: string | undefined): Promise<void> {
    const write = this.ops.recordEvent({ atMs: this.now(), impi, outcome, reason, ...(btid ? { btid } : {}) });
    if (outcome === 'ok' && btid) {
      const s = await this.sessions.get(btid);
      if (s)
        await this.ops.indexSession({ btid, impi: s.impi, createdAtMs: s.createdAtMs, expiresAtMs: s.expiresAtMs });
    }
    await write;
  }

  /** Writes still running (tests wait for 0). */
  get pending(): number {
    return this.#pending;
  }
}
