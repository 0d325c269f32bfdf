/**
 * The simulated devices' subscriptions: random K and OPc per device, IMSIs in one random block of the
 * home network, provisioned through the provisioning API's bulk import (and deleted again afterwards when
 * the network is not the bench's own).
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { DeviceSpec } from './load/bootstrap-load.js';

const IMPORT_CHUNK = 2000;

export function makeDevices(count: number, home: { mcc: string; mnc: string }): DeviceSpec[] {
  const msinDigits = 15 - 3 - home.mnc.length;
  // One random block, numbered from there: distinct IMSIs, unlikely to meet anyone else's test subscribers.
  const base = randomInt(0, 10 ** msinDigits - count);
  return Array.from({ length: count }, (_, i) => ({
    imsi: home.mcc + home.mnc + String(base + i).padStart(msinDigits, '0'),
    k: randomBytes(16).toString('hex'),
    opc: randomBytes(16).toString('hex'),
  }));
}

export async function importDevices(
  provisioning: string,
  adminToken: string,
  devices: readonly DeviceSpec[],
  onProgress?: (n: number) => void,
): Promise<void> {
  for (let i = 0; i < devices.length; i += IMPORT_CHUNK) {
    const chunk = devices.slice(i, i + IMPORT_CHUNK).map((d) => ({ imsi: d.imsi, k: d.k, opc: d.opc }));
    const r = await fetch(`${provisioning}/subscribers:import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(chunk),
    });
    if (r.status !== 200) throw new Error(`bulk import answered ${r.status}: ${(await r.text()).slice(0, 300)}`);
    onProgress?.(i + chunk.length);
  }
}

export async function deleteDevices(
  provisioning: string,
  adminToken: string,
  devices: readonly DeviceSpec[],
): Promise<void> {
  const queue = [...devices];
  const worker = async () => {
    for (let d = queue.pop(); d; d = queue.pop()) {
      await fetch(`${provisioning}/subscribers/${d.imsi}`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${adminToken}` },
      }).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      );
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}
