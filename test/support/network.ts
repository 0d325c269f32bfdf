/** Starts a network of real NF processes for a test, with its own Redis prefix and state directory. */
import { ConfigSchema, derive } from '../../shared/config.js';
import { startNetwork, type NfName, type RunningNetwork } from '../../bin/network.js';
import { tempDir } from './nf.js';
import { testRedisUrl, uniquePrefix } from './redis.js';

export async function givenNetwork(
  o: { nfs?: NfName[]; config?: Record<string, unknown>; store?: 'redis' | 'memory' } = {},
): Promise<RunningNetwork & { logs: () => string }> {
  const dir = tempDir('gba-sim-net-');
  const store =
    o.store === 'memory'
      ? { kind: 'memory' }
      : { kind: 'redis', redisUrl: await testRedisUrl(), prefix: uniquePrefix('net') };
  const raw = {
    stateDir: dir,
    store,
    log: { level: 'info' },
    hss: { port: 0, diameter: { port: 0 } },
    bsf: { ubPort: 0, znPort: 0, diameter: { port: 0 } },
    naf: { uaPort: 0, pskPort: 0 },
    lwm2m: { port: 0, apiPort: 0 },
    ...o.config,
  };
  const config = derive(ConfigSchema.parse(raw));
  const lines: string[] = [];
  const net = await startNetwork({ config, nfs: o.nfs, onEvent: (nf, l) => lines.push(`[${nf}] ${l}`) });
  return Object.assign(net, { logs: () => lines.join('\n') });
}

export async function provision(
  adminUrl: string,
  token: string,
  imsi: string,
  doc: Record<string, unknown>,
): Promise<void> {
  const r = await fetch(`${adminUrl}/subscribers/${imsi}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(doc),
  });
  if (r.status !== 200 && r.status !== 201) throw new Error(`provisioning ${imsi}: ${r.status} ${await r.text()}`);
}

/** A random IMSI in the test home network 001/01, so tests sharing a Redis never collide. */
export const newImsi = (): string => `00101${String(Math.floor(Math.random() * 1e10)).padStart(10, '0')}`;
