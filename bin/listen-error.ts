/**
 * A listener that cannot take its port (EADDRINUSE, EACCES, EADDRNOTAVAIL from listen/bind) becomes one line
 * that names the port, the network function and listener that wanted it, and the flag that moves it:
 * the NF's own port flag for `gba-sim <nf>`, `--base-port` for `gba-sim up`. Every listener (HTTP, Diameter,
 * CoAP over TLS and DTLS) rejects its start with Node's own error, so the mapping lives here only.
 */
import type { ResolvedConfig } from '../shared/config.js';
import { bsfDiameterPort, hssDiameterPort } from '../shared/diameter/identity.js';

/** The config path of each listening port, who listens there, and what for. */
const LISTENER_PORTS: ReadonlyArray<{
  path: string;
  nf: string;
  listener: string;
  port: (c: ResolvedConfig) => number;
}> = [
  { path: 'bsf.ubPort', nf: 'bsf', listener: 'Ub (HTTP)', port: (c) => c.bsf.ubPort },
  { path: 'bsf.znPort', nf: 'bsf', listener: 'Zn (HTTP)', port: (c) => c.bsf.znPort },
  { path: 'hss.port', nf: 'hss-mock', listener: 'provisioning and Zh (HTTP)', port: (c) => c.hss.port },
  { path: 'naf.uaPort', nf: 'naf', listener: 'Ua (HTTP)', port: (c) => c.naf.uaPort },
  { path: 'naf.pskPort', nf: 'naf', listener: 'PSK API (HTTP)', port: (c) => c.naf.pskPort },
  { path: 'lwm2m.port', nf: 'lwm2m', listener: 'CoAP over TLS (TCP) and DTLS (UDP)', port: (c) => c.lwm2m.port },
  { path: 'lwm2m.apiPort', nf: 'lwm2m', listener: 'REST API (HTTP)', port: (c) => c.lwm2m.apiPort },
  { path: 'hss.diameter.port', nf: 'hss-mock', listener: 'Zh (Diameter)', port: hssDiameterPort },
  { path: 'bsf.diameter.port', nf: 'bsf', listener: 'Zn (Diameter)', port: bsfDiameterPort },
  { path: 'console.port', nf: 'console', listener: 'web console (HTTP)', port: (c) => c.console.port },
];

const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'is in use',
  EACCES: 'is not allowed to this user (ports below 1024 need privileges)',
  EADDRNOTAVAIL: 'is on an address this machine does not have',
};

/** What a failed listen says, with the config path of the port when it is known. */
export interface ListenFailure {
  code: string;
  host: string;
  port: number;
  path?: string;
}

/** The failure of a listen()/bind() as Node reports it, or undefined for any other error. */
export function listenFailureOf(err: unknown): ListenFailure | undefined {
  const e = err as NodeJS.ErrnoException & { address?: unknown; port?: unknown };
  if (!e || typeof e !== 'object' || typeof e.code !== 'string' || !(e.code in REASONS)) return undefined;
  if (e.syscall !== 'listen' && e.syscall !== 'bind') return undefined;
  return {
    code: e.code,
    host: typeof e.address === 'string' ? e.address : '',
    port: typeof e.port === 'number' ? e.port : -1,
  };
}

/** The listener of `nf` configured on `port`, if any. */
export function ownerOf(config: ResolvedConfig, nf: string, port: number): (typeof LISTENER_PORTS)[number] | undefined {
  return LISTENER_PORTS.find((l) => l.nf === nf && l.port(config) === port);
}

/** The config section of an NF command: `hss-mock` keeps its settings under `hss`. */
const sectionOf = (nf: string) => (nf === 'hss-mock' ? 'hss' : nf);
const where = (f: ListenFailure) => (f.host ? `port ${f.port} on ${f.host}` : `port ${f.port}`);
const listenerOf = (path: string | undefined) => LISTENER_PORTS.find((l) => l.path === path);

/**
 * `gba-sim <nf>`: `hss-mock: port 8082 on 127.0.0.1 is in use (wanted by the provisioning and Zh (HTTP) listener);
 * choose another with --port`. `flagOf` gives the command's flag for a config path, if it has one.
 */
export function nfListenMessage(nf: string, f: ListenFailure, flagOf: (path: string) => string | undefined): string {
  const l = listenerOf(f.path);
  const flag = f.path ? flagOf(f.path) : undefined;
  const move =
    f.code === 'EADDRNOTAVAIL'
      ? (flagOf(`${sectionOf(nf)}.host`) ?? '--host')
      : (flag ?? (f.path ? `${f.path} in --config` : 'the port flags'));
  return `${nf}: ${where(f)} ${REASONS[f.code]} (wanted by the ${l ? `${l.listener} listener` : 'listener'}); choose another with ${move}`;
}

/**
 * `gba-sim up`: `port 47102 on 127.0.0.1 is in use (wanted by hss-mock's provisioning and Zh (HTTP) listener,
 * --base-port + 2); start with another --base-port`. `offsetOf` gives the listener's place after --base-port.
 */
export function upListenMessage(nf: string, f: ListenFailure, offsetOf: (path: string) => number | undefined): string {
  const l = listenerOf(f.path);
  const offset = f.path ? offsetOf(f.path) : undefined;
  const at = offset === undefined ? '' : `, --base-port + ${offset}`;
  const fix = f.code === 'EADDRNOTAVAIL' ? `check ${sectionOf(nf)}.host in --config` : 'start with another --base-port';
  return `${where(f)} ${REASONS[f.code]} (wanted by ${nf}'s ${l ? `${l.listener} listener` : 'listener'}${at}); ${fix}`;
}

/** `startNetwork` rejects with this when a child could not take one of its ports. */
export class ListenFailedError extends Error {
  constructor(
    readonly nf: string,
    readonly failure: ListenFailure,
  ) {
    super(`${nf}: ${where(failure)} ${REASONS[failure.code] ?? 'cannot be listened on'}`);
  }
}

/** The record a supervised child prints on stdout (one JSON log line) so `up` can say it in one line. */
export const LISTEN_FAILED_EVENT = 'listen.failed';
