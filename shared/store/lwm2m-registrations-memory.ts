/** LwM2M registrations in memory: one process, lost on exit (the same contract as Redis otherwise). */
import type { Lwm2mRegistrationStore, StoredRegistration } from './lwm2m-registrations.js';

export class MemoryLwm2mRegistrationStore implements Lwm2mRegistrationStore {
  readonly #m = new Map<string, { json: string; exp: number }>();

  async put(r: StoredRegistration, expiresAtMs: number): Promise<void> {
    this.#m.delete(r.registrationId);
    this.#m.set(r.registrationId, { json: JSON.stringify(r), exp: expiresAtMs });
  }

  async get(id: string): Promise<StoredRegistration | undefined> {
    const e = this.#m.get(id);
    if (!e) return undefined;
    if (e.exp <= Date.now()) {
      this.#m.delete(id);
      return undefined;
    }
    return JSON.parse(e.json) as StoredRegistration;
  }

  async list(limit = 10_000): Promise<StoredRegistration[]> {
    const now = Date.now();
    const out: StoredRegistration[] = [];
    for (const [k, e] of this.#m) {
      if (e.exp <= now) {
        this.#m.delete(k);
        continue;
      }
      if (out.length < limit) out.push(JSON.parse(e.json) as StoredRegistration);
    }
    return out;
  }

  async delete(id: string): Promise<boolean> {
    const e = this.#m.get(id);
    this.#m.delete(id);
    return e !== undefined && e.exp > Date.now();
  }
}
