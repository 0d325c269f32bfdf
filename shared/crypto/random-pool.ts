/**
 * Random octets for the hot paths (RAND per authentication vector, Digest opaque per challenge): the same
 * CSPRNG as crypto.randomBytes, drawn 4 KiB at a time. A randomBytes call costs a few microseconds of fixed
 * overhead whatever its size; drawing a pool of them at once and handing out copies of fresh slices costs a
 * fraction of that. No octet is handed out twice, and callers get their own copy, never a view of the pool.
 */
import { randomBytes, randomFillSync } from 'node:crypto';

const POOL_OCTETS = 4096;
const pool = Buffer.allocUnsafeSlow(POOL_OCTETS);
let used = POOL_OCTETS; // empty until first use

export function randomOctets(n: number): Buffer {
  if (!Number.isInteger(n) || n < 0) throw new RangeError('octet count must be a non-negative integer');
  if (n > POOL_OCTETS / 8) return randomBytes(n);
  if (used + n > POOL_OCTETS) {
    randomFillSync(pool);
    used = 0;
  }
  const out = Buffer.from(pool.subarray(used, used + n));
  pool.fill(0, used, used + n); // what was handed out does not stay behind in the pool
  used += n;
  return out;
}
