/**
 * The NAFs the BSF serves on Zn: those of the configuration (bsf.nafs) and those added at run time through
 * the admin API (POST /admin/v1/nafs, `gba-sim naf add-app`), which live in the store. The admin-added ones
 * are re-read every `refreshMs` (and at once by the instance that added them), so every BSF instance sharing
 * the store accepts a new token within that time, and a restarted BSF accepts it from its first request.
 * Bearer checks stay synchronous (before the body is read, C3) against this in-memory list.
 */
import type { Logger } from '../shared/log.js';
import type { NafAppRecord, NafAppStore } from '../shared/store/naf-apps.js';
import type { NafAccess } from './zn.js';

export class NafDirectory {
  #dynamic: NafAccess[] = [];
  #all: NafAccess[];
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly configured: readonly NafAccess[],
    readonly store: NafAppStore,
    readonly log: Logger,
    readonly refreshMs = 1000,
  ) {
    this.#all = [...configured];
  }

  /** Every NAF: configured first (they win a name clash), then the admin-added ones. */
  get all(): readonly NafAccess[] {
    return this.#all;
  }

  get added(): readonly NafAccess[] {
    return this.#dynamic;
  }

  async start(): Promise<void> {
    await this.refresh().catch((err: Error) =>
      this.log.warn({ err: err.message }, 'could not read the admin-added NAFs; retrying'),
    );
    this.#timer = setInterval(() => {
      void this.refresh().catch(() => undefined);
    }, this.refreshMs);
    this.#timer.unref();
  }

  async refresh(): Promise<void> {
    const recs = await this.store.list();
    this.#set(recs);
  }

  async add(rec: NafAppRecord): Promise<boolean> {
    if (this.configured.some((n) => n.name === rec.name)) return false;
    if (!(await this.store.add(rec))) return false;
    await this.refresh().catch(() => {
      this.#set([...this.#dynamic, rec]);
    });
    return true;
  }

  async remove(name: string): Promise<boolean> {
    const done = await this.store.remove(name);
    if (done)
      await this.refresh().catch(() => {
        this.#set(this.#dynamic.filter((n) => n.name !== name));
      });
    return done;
  }

  #set(recs: readonly NafAccess[]): void {
    const names = new Set(this.configured.map((n) => n.name));
    this.#dynamic = recs
      .filter((r) => !names.has(r.name))
      .map((r) => ({ name: r.name, token: r.token, group: r.group, fqdns: r.fqdns }));
    this.#all = [...this.configured, ...this.#dynamic];
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
