/**
 * Redis memory per bootstrapping session: INFO used_memory before and after writing N sessions through
 * the BSF's own store (RedisSessionStore.create: its compact encoding, SET NX PXAT at the key lifetime),
 * with realistic B-TIDs (base64 RAND @ BSF domain) and IMPIs, nothing else written in between; then the
 * sessions are deleted again.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { connectRedis, RedisSessionStore, type RedisPort } from '../shared/store/redis.js';
import { keyNames } from '../shared/store/keys.js';
import { btidFromRand, impiFromImsi, type HomeNetwork } from '../shared/identifiers.js';

interface SessionMemoryOptions {
  redisUrl: string;
  prefix: string;
  sessions: number;
  homeNetwork: HomeNetwork;
  bsfDomain: string;
  lifetimeSec: number;
  onProgress?: (written: number) => void;
}

export interface SessionMemoryResult {
  bytes_per_session: number;
  sessions: number;
  used_memory_before: number;
  used_memory_after: number;
  /** Keys added in the database meanwhile, minus the sessions: 0 when nothing else wrote. */
  other_keys_written: number;
  key_example: string;
  value_octets_example: number;
}

async function info(r: RedisPort, section: string): Promise<Map<string, string>> {
  const text = String(await r.cmd(['INFO', section]));
  const m = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

const usedMemory = async (r: RedisPort): Promise<number> => Number((await info(r, 'memory')).get('used_memory'));
const dbSize = async (r: RedisPort): Promise<number> => Number(await r.cmd(['DBSIZE']));

/** Waits until an incremental rehash (which holds two tables for a while) has finished, so both readings are at rest. */
async function settle(r: RedisPort): Promise<void> {
  let last = -1;
  for (let i = 0; i < 20; i++) {
    await new Promise((res) => setTimeout(res, 150));
    const now = await usedMemory(r);
    if (now === last) return;
    last = now;
  }
}

export async function measureSessionMemory(o: SessionMemoryOptions): Promise<SessionMemoryResult> {
  const r = await connectRedis(o.redisUrl);
  const keys = keyNames(o.prefix);
  const store = new RedisSessionStore(r, keys);
  const mncDigits = o.homeNetwork.mnc.length as 2 | 3;
  const msinDigits = 15 - 3 - mncDigits;
  const written: string[] = [];
  try {
    await settle(r);
    const keysBefore = await dbSize(r);
    const before = await usedMemory(r);
    const now = Date.now();
    const createdAtMs = Math.floor(now / 1000) * 1000;
    const expiresAtMs = Math.floor((now + o.lifetimeSec * 1000) / 1000) * 1000;
    const BATCH = 1000;
    let example = { key: '', valueOctets: 0 };
    for (let done = 0; done < o.sessions; done += BATCH) {
      const n = Math.min(BATCH, o.sessions - done);
      const batch = Array.from({ length: n }, () => {
        const imsi =
          o.homeNetwork.mcc + o.homeNetwork.mnc + String(randomInt(0, 10 ** msinDigits)).padStart(msinDigits, '0');
        return {
          btid: btidFromRand(randomBytes(16), o.bsfDomain),
          impi: impiFromImsi(imsi, mncDigits),
          ks: randomBytes(32),
          createdAtMs,
          expiresAtMs,
          gbaU: false,
        };
      });
      const created = await Promise.all(batch.map((s) => store.create(s)));
      if (created.some((c) => !c)) throw new Error('a session already existed (B-TID collision?)');
      for (const s of batch) written.push(keys.session(s.btid));
      if (!example.key)
        example = { key: keys.session(batch[0]!.btid), valueOctets: 42 + Buffer.byteLength(batch[0]!.impi) };
      o.onProgress?.(done + n);
    }
    await settle(r);
    const after = await usedMemory(r);
    const keysAfter = await dbSize(r);
    return {
      bytes_per_session: (after - before) / o.sessions,
      sessions: o.sessions,
      used_memory_before: before,
      used_memory_after: after,
      other_keys_written: keysAfter - keysBefore - o.sessions,
      key_example: example.key,
      value_octets_example: example.valueOctets,
    };
  } finally {
    for (let i = 0; i < written.length; i += 1000)
      await r.cmd(['UNLINK', ...written.slice(i, i + 1000)]).catch(() => undefined);
    await r.close();
  }
}
