/**
 * LwM2M registrations in Redis: one string per registration (SET … PXAT, so Redis expires it with the
 * registration) and a sorted set of ids scored by expiry, for listing; expired index entries are pruned on list.
 * The record and the index are keys of different slots (Redis Cluster): each is written by a command of its own,
 * the record first, and a listing reads the records one key at a time (an id whose record is gone is skipped).
 */
import type { KeyNames } from './keys.js';
import {
  decodeRegistration,
  encodeRegistration,
  type Lwm2mRegistrationStore,
  type StoredRegistration,
} from './lwm2m-registrations.js';
import type { RedisPort } from './redis.js';

export class RedisLwm2mRegistrationStore implements Lwm2mRegistrationStore {
  constructor(
    private readonly r: RedisPort,
    private readonly keys: KeyNames,
  ) {}

  async put(reg: StoredRegistration, expiresAtMs: number): Promise<void> {
    const at = String(Math.max(Date.now() + 1, Math.ceil(expiresAtMs)));
    // Two keys in two hash slots (Redis Cluster), so two commands; sent together to keep the window in which a
    // crash leaves one without the other short (a record missing from the index is not restored; an index entry
    // without its record is skipped by list()).
    await Promise.all([
      this.r.cmd(['SET', this.keys.lwm2mRegistration(reg.registrationId), encodeRegistration(reg), 'PXAT', at]),
      this.r.cmd(['ZADD', this.keys.lwm2mRegistrationIndex(), at, reg.registrationId]),
    ]);
  }

  async get(id: string): Promise<StoredRegistration | undefined> {
    const v = await this.r.cmd(['GET', this.keys.lwm2mRegistration(id)]);
    return v === null || Array.isArray(v) || typeof v === 'number' ? undefined : decodeRegistration(v.toString());
  }

  async list(limit = 10_000): Promise<StoredRegistration[]> {
    const index = this.keys.lwm2mRegistrationIndex();
    await this.r.cmd(['ZREMRANGEBYSCORE', index, '-inf', String(Date.now())]);
    const ids = await this.r.cmd(['ZRANGE', index, '0', String(limit - 1)]);
    if (!Array.isArray(ids) || ids.length === 0) return [];
    const values = await Promise.all(ids.map((id) => this.r.cmd(['GET', this.keys.lwm2mRegistration(String(id))])));
    return values.flatMap((v) =>
      v === null || Array.isArray(v) || typeof v === 'number'
        ? []
        : [decodeRegistration(v.toString())].filter((x): x is StoredRegistration => x !== undefined),
    );
  }

  async delete(id: string): Promise<boolean> {
    const n = await this.r.cmd(['DEL', this.keys.lwm2mRegistration(id)]);
    await this.r.cmd(['ZREM', this.keys.lwm2mRegistrationIndex(), id]);
    return n === 1;
  }
}
