/**
 * The BSF's Zh over Diameter (TS 29.109 §4): a ZhService that sends MAR and reads MAA. The GUSS comes in the
 * same MAA as the vector (there is no GUSS-only command on Zh), so it is cached per IMPI from every MAA; a
 * guss() with nothing cached sends a MAR of its own (the extra vector is harmless: TS 33.102 Annex C
 * accepts any fresher SQN).
 */
import { DiameterClient } from '../shared/diameter/peer.js';
import type { DiameterMetrics } from '../shared/diameter/metrics.js';
import { APP_ZH, CMD, RC } from '../shared/diameter/dictionary.js';
import { experimentalResult, marAvps, newSessionId, readMaa } from '../shared/diameter/gba.js';
import { getU32 } from '../shared/diameter/codec.js';
import type { DiameterIdentity } from '../shared/diameter/identity.js';
import { HssRefused, PeerUnavailable, UserUnknown } from '../shared/services/errors.js';
import type { ResyncInfo, ZhService } from '../shared/services/zh.js';
import type { AuthVector } from '../shared/crypto/aka-tokens.js';
import type { Guss } from '../shared/store/types.js';
import type { Logger } from '../shared/log.js';

export interface ZhDiameterOptions {
  local: DiameterIdentity;
  hss: { host: string; port: number; realm: string; identity?: string };
  log: Logger;
  metrics?: DiameterMetrics;
  gussCacheMs: number;
  maxCached?: number;
  requestTimeoutMs?: number;
  watchdogMs?: number;
}

/** MAA → vector and GUSS, or the domain error (TS 29.109 §6.3: 5401; FHoSS's Cx 5001 read the same way). */
export function maaOutcome(
  avps: Parameters<typeof readMaa>[0],
  impi: string,
  resync: boolean,
): { av: AuthVector; guss?: Guss } {
  const rc = getU32(avps, 'Result-Code');
  const er = experimentalResult(avps);
  if (er === RC.IDENTITY_UNKNOWN || er === 5001 /* DIAMETER_ERROR_USER_UNKNOWN (Cx, FHoSS) */)
    throw new UserUnknown(impi);
  if (rc === RC.UNABLE_TO_COMPLY && resync) throw new HssRefused('the HSS refused the resynchronisation (MAC-S)');
  if (rc !== RC.SUCCESS)
    throw new PeerUnavailable(
      `HSS answered MAR with ${er !== undefined ? `Experimental-Result ${er}` : `Result-Code ${rc}`}`,
    );
  try {
    return readMaa(avps);
  } catch (e) {
    throw new PeerUnavailable(`HSS answered a malformed MAA: ${(e as Error).message}`);
  }
}

export class ZhDiameterClient implements ZhService {
  readonly #client: DiameterClient;
  readonly #guss = new Map<string, { at: number; guss: Guss | undefined }>();

  constructor(readonly o: ZhDiameterOptions) {
    this.#client = new DiameterClient({
      host: o.hss.host,
      port: o.hss.port,
      local: { ...o.local, applicationId: APP_ZH },
      log: o.log,
      metrics: o.metrics,
      requestTimeoutMs: o.requestTimeoutMs ?? 3000,
      watchdogMs: o.watchdogMs,
    });
  }

  async #mar(impi: string, resync?: ResyncInfo): Promise<{ av: AuthVector; guss?: Guss }> {
    const maa = await this.#client.request({
      commandCode: CMD.MA,
      applicationId: APP_ZH,
      avps: marAvps(
        {
          sessionId: newSessionId(this.o.local.host),
          originHost: this.o.local.host,
          originRealm: this.o.local.realm,
          destinationRealm: this.o.hss.realm,
          destinationHost: this.o.hss.identity,
        },
        { impi, resync },
      ),
    });
    const r = maaOutcome(maa.avps, impi, resync !== undefined);
    if (this.o.gussCacheMs > 0) {
      if (this.#guss.size >= (this.o.maxCached ?? 100_000)) this.#guss.delete(this.#guss.keys().next().value!);
      this.#guss.set(impi, { at: Date.now(), guss: r.guss });
    }
    return r;
  }

  async authVector(impi: string, resync?: ResyncInfo): Promise<AuthVector> {
    return (await this.#mar(impi, resync)).av;
  }

  async guss(impi: string): Promise<Guss | undefined> {
    const hit = this.#guss.get(impi);
    if (hit && Date.now() - hit.at < this.o.gussCacheMs) return hit.guss;
    return (await this.#mar(impi)).guss;
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}
