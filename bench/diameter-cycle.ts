/**
 * Cycle module (load/cycle-load.ts) for the Diameter phases: MAR/MAA towards the HSS's Zh listener (TS 29.109
 * §4) and BIR/BIA towards the BSF's Zn listener (§5), over a few long-lived TCP connections per worker, each
 * opened with CER/CEA under an identity the listener allows (the BSF's on Zh, the NAF's on Zn; RFC 6733 lets
 * one identity hold several connections, C5). One cycle = one request and its answer, 2001 or it counts as an
 * error. The HTTP twins (N65 generate-auth-data, N66 bootstrapping-info) run as plain HTTP phases.
 */
import { createConnection } from 'node:net';
import { Connection, resultOf } from '../shared/diameter/peer.js';
import { FLAG_P } from '../shared/diameter/codec.js';
import { APP_ZH, APP_ZN, CMD, RC } from '../shared/diameter/dictionary.js';
import { birAvps, marAvps, newSessionId } from '../shared/diameter/gba.js';
import { silentLogger } from '../shared/log.js';
import type { Cycle } from './load/cycle-load.js';

export interface DiameterCycleParams {
  kind: 'mar' | 'bir';
  host: string;
  port: number;
  /** Our Origin-Host/Realm: one the listener allows. */
  local: { host: string; realm: string };
  /** The listener's identity (Destination-Host/Realm). */
  peer: { host: string; realm: string };
  /** MAR: IMPIs; BIR: B-TIDs. */
  items: string[];
  /** BIR: the NAF-Id asked for. */
  nafFqdn?: string;
  uaSecProtId?: string;
  /** TCP connections per worker. */
  connections: number;
}

async function open(p: DiameterCycleParams, applicationId: number): Promise<Connection> {
  const socket = createConnection({ host: p.host, port: p.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const c = new Connection(socket, 'client', {
    local: { ...p.local, applicationId, productName: 'gba-sim bench' },
    log: silentLogger,
    requestTimeoutMs: 10_000,
  });
  await c.exchangeCapabilities();
  return c;
}

export async function createCycle(params: unknown): Promise<{ cycle: Cycle; close: () => Promise<void> }> {
  const p = params as DiameterCycleParams;
  const app = p.kind === 'mar' ? APP_ZH : APP_ZN;
  const conns = await Promise.all(Array.from({ length: Math.max(1, p.connections) }, () => open(p, app)));
  const routing = () => ({
    sessionId: newSessionId(p.local.host),
    originHost: p.local.host,
    originRealm: p.local.realm,
    destinationRealm: p.peer.realm,
    destinationHost: p.peer.host,
  });
  const cycle: Cycle = async (loop, n) => {
    const c = conns[loop % conns.length]!;
    const item = p.items[(loop * 7919 + n) % p.items.length]!;
    const avps =
      p.kind === 'mar'
        ? marAvps(routing(), { impi: item })
        : birAvps(routing(), {
            btid: item,
            nafFqdn: p.nafFqdn!,
            uaSecProtId: p.uaSecProtId ?? '0100000002',
            gbaUAware: false,
          });
    const a = await c.request({
      flags: FLAG_P,
      commandCode: p.kind === 'mar' ? CMD.MA : CMD.BI,
      applicationId: app,
      avps,
    });
    const rc = resultOf(a);
    if (rc !== RC.SUCCESS) throw new Error(`${p.kind === 'mar' ? 'MAA' : 'BIA'} ${rc ?? 'without a result code'}`);
  };
  return {
    cycle,
    close: async () => {
      await Promise.all(conns.map((c) => c.disconnect()));
    },
  };
}
