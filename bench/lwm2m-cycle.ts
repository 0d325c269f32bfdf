/**
 * One device's LwM2M cycle, as the load-generator workers run it: (D)TLS-PSK handshake with the device's GBA
 * key (PSK = Ks_NAF for LwM2M FQDN ‖ Ua id, identity "3GPP-bootstrapping." ‖ B-TID, SNI = the server's FQDN),
 * Register, De-register, close — through the device agent's own transport and registration code.
 */
import { connectCoapTls } from '../device/tls-transport.js';
import { connectCoapDtls } from '../device/dtls-transport.js';
import { deregister, register } from '../device/lwm2m-client.js';
import { DeviceObjects } from '../device/objects.js';
import type { CoapChannel } from '../device/coap-channel.js';
import type { Cycle } from './load/cycle-load.js';
import type { Lwm2mCycleParams } from './lwm2m.js';

const LIFETIME_SEC = 300;

export async function createCycle(raw: unknown): Promise<{ cycle: Cycle }> {
  const p = raw as Lwm2mCycleParams;
  const u = new URL(p.uri);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = Number(u.port || 5684);
  const binding = p.transport === 'dtls' ? 'U' : 'T';
  const devices = p.devices.map((d, i) => ({
    ...d,
    psk: Buffer.from(d.pskHex, 'hex'),
    objects: new DeviceObjects({
      manufacturer: 'gba-sim',
      model: 'bench device',
      serial: `bench-${i}`,
      firmware: '0.1.0',
      binding,
      lifetimeSec: () => LIFETIME_SEC,
    }),
  }));
  if (devices.length < p.loops) throw new Error(`${devices.length} LwM2M devices for ${p.loops} loops`);
  const cycle: Cycle = async (loop, n) => {
    // Loop i uses devices i, i + loops, i + 2·loops, …: no endpoint is ever registered by two loops at once.
    const perLoop = Math.floor(devices.length / p.loops);
    const d = devices[loop + (n % perLoop) * p.loops]!;
    const o = { host, port, serverFqdn: p.fqdn, pskIdentity: d.pskIdentity, psk: d.psk, uaSecProtId: p.uaSecProtId };
    const ch: CoapChannel = p.transport === 'dtls' ? await connectCoapDtls(o) : await connectCoapTls(o);
    try {
      ch.onRequest((req) => d.objects.handle(req)); // the server may read the device while it is registered
      const location = await register(ch, {
        endpoint: d.endpoint,
        lifetimeSec: LIFETIME_SEC,
        binding,
        objects: d.objects,
      });
      await deregister(ch, location);
    } finally {
      await ch.close();
    }
  };
  return { cycle };
}
