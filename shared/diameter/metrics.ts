/**
 * Per-peer Diameter metrics for /metrics: connections by state, requests and answers by command and result
 * code, and the round-trip time of our requests.
 */
import { Counter, Gauge, Histogram, type Registry } from '../metrics.js';
import { COMMAND_NAMES } from './dictionary.js';
import type { PeerState } from './peer.js';

const cmd = (c: number): string => COMMAND_NAMES[c] ?? String(c);

export class DiameterMetrics {
  readonly connections: Gauge;
  readonly requests: Counter;
  readonly answers: Counter;
  readonly rtt: Histogram;
  readonly #counts = new Map<string, number>();

  constructor(
    registry: Registry,
    readonly iface: string,
  ) {
    this.connections = registry.register(
      new Gauge('gba_diameter_peer_connections', 'Diameter connections by interface, peer and state.', [
        'iface',
        'peer',
        'state',
      ]),
    );
    this.requests = registry.register(
      new Counter(
        'gba_diameter_requests_total',
        'Diameter requests by interface, peer, command and direction (in = received).',
        ['iface', 'peer', 'command', 'direction'],
      ),
    );
    this.answers = registry.register(
      new Counter(
        'gba_diameter_answers_total',
        'Diameter answers by interface, peer, command, result code (timeout when none came) and direction.',
        ['iface', 'peer', 'command', 'result', 'direction'],
      ),
    );
    this.rtt = registry.register(
      new Histogram(
        'gba_diameter_rtt_seconds',
        'Round-trip time of Diameter requests this node sent, by peer and command.',
        ['iface', 'peer', 'command'],
      ),
    );
  }

  /** A connection moved from (fromPeer, from) to (peer, to); the peer label changes once CER/CEA names it. */
  state(peer: string, from: PeerState | undefined, to: PeerState, fromPeer = peer): void {
    const bump = (state: PeerState, by: number, p = peer) => {
      const k = `${p}\u0000${state}`;
      const n = Math.max(0, (this.#counts.get(k) ?? 0) + by);
      this.#counts.set(k, n);
      this.connections.set(n, { iface: this.iface, peer: p, state });
    };
    if (from) bump(from, -1, fromPeer);
    bump(to, 1);
  }

  request(peer: string, command: number, direction: 'in' | 'out'): void {
    this.requests.inc({ iface: this.iface, peer, command: cmd(command), direction });
  }

  answer(peer: string, command: number, result: number | undefined, direction: 'in' | 'out', rttSec?: number): void {
    this.answers.inc({
      iface: this.iface,
      peer,
      command: cmd(command),
      result: result === undefined ? 'timeout' : String(result),
      direction,
    });
    if (rttSec !== undefined) this.rtt.observe(rttSec, { iface: this.iface, peer, command: cmd(command) });
  }
}
