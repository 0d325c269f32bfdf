/** `gba-sim hss-mock|bsf|naf|lwm2m` — one network function as its own process (for real deployments). */
import type { Command } from 'commander';
import {
  addConfigOptions,
  COMMON_FLAGS,
  configFromFlags,
  inFlagTerms,
  typedByPath,
  type FlagSpec,
} from '../config-flags.js';
import { ConfigError } from '../../shared/config.js';
import { exitWithProblems } from '../cli-util.js';
import { runWorkerPrimary, shouldRunWorkers } from '../../shared/nf/workers.js';
import { LISTEN_FAILED_EVENT, listenFailureOf, nfListenMessage, ownerOf, type ListenFailure } from '../listen-error.js';

interface NfCommand {
  name: string;
  description: string;
  flags: FlagSpec[];
  run: (config: import('../../shared/config.js').ResolvedConfig) => Promise<void>;
}

export const NF_COMMANDS: NfCommand[] = [
  {
    name: 'hss-mock',
    description: 'HSS-mock: provisioning API and Zh (TS 29.562 N65) with Milenage/XOR vectors',
    flags: [
      { flag: '--host <addr>', path: 'hss.host', description: 'listen address (default 127.0.0.1)' },
      {
        flag: '--port <n>',
        path: 'hss.port',
        description: 'listen port (default 8082; 0 = any free port)',
        type: 'number',
      },
      {
        flag: '--admin-token <t>',
        path: 'hss.adminToken',
        description: 'provisioning API token (default: generated into the state dir)',
      },
    ],
    run: async (c) => (await import('../../hss-mock/main.js')).runHss(c),
  },
  {
    name: 'bsf',
    description: 'BSF: Ub (TS 24.109 HTTP Digest AKA) and Zn (TS 29.309 Nbsp_GBA)',
    flags: [
      { flag: '--host <addr>', path: 'bsf.host', description: 'listen address (default 127.0.0.1)' },
      { flag: '--ub-port <n>', path: 'bsf.ubPort', description: 'Ub port (default 8080)', type: 'number' },
      { flag: '--zn-port <n>', path: 'bsf.znPort', description: 'Zn port (default 8081)', type: 'number' },
      {
        flag: '--domain <fqdn>',
        path: 'bsf.domain',
        description: 'realm and B-TID domain (default bsf.mnc<MNC>.mcc<MCC>.pub.3gppnetwork.org)',
      },
      { flag: '--hss-url <url>', path: 'bsf.hssUrl', description: 'HSS base URL for Zh' },
      { flag: '--hss-token <t>', path: 'bsf.hssToken', description: 'bearer token for Zh' },
      {
        flag: '--lifetime <s>',
        path: 'bsf.lifetimeSec',
        description: 'default key lifetime in seconds (3600)',
        type: 'number',
      },
      {
        flag: '--challenge-ttl <s>',
        path: 'bsf.challengeTtlSec',
        description: 'challenge validity in seconds (30)',
        type: 'number',
      },
      { flag: '--aka-algorithm <alg>', path: 'bsf.akaAlgorithm', description: 'AKAv1-MD5 (default) or AKAv2-MD5' },
    ],
    run: async (c) => (await import('../../bsf/main.js')).runBsf(c),
  },
  {
    name: 'naf',
    description: 'NAF: device provisioning behind GBA HTTP Digest (Ua) and the PSK API for LwM2M servers',
    flags: [
      { flag: '--host <addr>', path: 'naf.host', description: 'listen address (default 127.0.0.1)' },
      { flag: '--ua-port <n>', path: 'naf.uaPort', description: 'Ua port (default 8083)', type: 'number' },
      { flag: '--psk-port <n>', path: 'naf.pskPort', description: 'PSK API port (default 8084)', type: 'number' },
      {
        flag: '--fqdn <fqdn>',
        path: 'naf.fqdn',
        description: 'NAF FQDN for the realm and NAF_Id (default naf.mnc<MNC>.mcc<MCC>.pub.3gppnetwork.org)',
      },
      {
        flag: '--zn-url <url>',
        path: 'naf.znUrl',
        description: 'BSF Zn base URL, e.g. http://127.0.0.1:8081/nbsp-gba/v1',
      },
      { flag: '--zn-token <t>', path: 'naf.znToken', description: "this NAF's bearer token at the BSF" },
      {
        flag: '--psk-api-token <t>',
        path: 'naf.pskApiToken',
        description: 'token LwM2M servers use on the PSK API (default: generated into the state dir)',
      },
      { flag: '--endpoint-policy <p>', path: 'naf.endpointPolicy', description: 'uuid (default) or imsi' },
      { flag: '--lwm2m-fqdn <fqdn>', path: 'naf.lwm2m.fqdn', description: 'LwM2M server FQDN (NAF_Id of its keys)' },
      { flag: '--lwm2m-uri <uri>', path: 'naf.lwm2m.uri', description: 'LwM2M server URI handed to devices' },
      {
        flag: '--lwm2m-ua-id <hex>',
        path: 'naf.lwm2m.uaSecProtId',
        description: 'Ua id of the LwM2M key (default 010001c0a8)',
      },
    ],
    run: async (c) => (await import('../../naf/main.js')).runNaf(c),
  },
  {
    name: 'lwm2m',
    description: 'LwM2M server: CoAP over TLS-PSK (and DTLS-PSK) with keys pulled from the NAF, REST API',
    flags: [
      { flag: '--host <addr>', path: 'lwm2m.host', description: 'listen address (default 127.0.0.1)' },
      {
        flag: '--port <n>',
        path: 'lwm2m.port',
        description: 'CoAP port, TCP for TLS and UDP for DTLS (default 5684)',
        type: 'number',
      },
      {
        flag: '--api-host <addr>',
        path: 'lwm2m.apiHost',
        description: 'REST API listen address (default 127.0.0.1, whatever --host is)',
      },
      { flag: '--api-port <n>', path: 'lwm2m.apiPort', description: 'REST API port (default 8085)', type: 'number' },
      {
        flag: '--admin-token <t>',
        path: 'admin.token',
        description:
          'Bearer token of the REST API, admin.token of endpoints.json (or GBA_ADMIN_TOKEN; default: generated into <state-dir>/admin-token)',
      },
      { flag: '--fqdn <fqdn>', path: 'lwm2m.fqdn', description: 'server FQDN, the NAF_Id of its keys' },
      {
        flag: '--ua-id <hex>',
        path: 'lwm2m.uaSecProtId',
        description:
          'Ua id of the TLS suite: 010001c0a8 (PSK-AES128-CCM8, default) or 01000100a8 (PSK-AES128-GCM-SHA256)',
      },
      {
        flag: '--psk-lookup-url <url>',
        path: 'lwm2m.pskLookupUrl',
        description: 'the NAF PSK API, e.g. http://127.0.0.1:8084/naf/v1/psk-lookup',
      },
      { flag: '--psk-api-token <t>', path: 'lwm2m.pskApiToken', description: 'bearer token for the PSK API' },
    ],
    run: async (c) => (await import('../../lwm2m/main.js')).runLwm2m(c),
  },
  {
    name: 'console',
    description:
      'web console: subscribers, sessions (revoke), LwM2M clients, device timelines, through the admin and REST APIs',
    flags: [
      { flag: '--host <addr>', path: 'console.host', description: 'listen address (default 127.0.0.1)' },
      { flag: '--port <n>', path: 'console.port', description: 'HTTP port (default 8086)', type: 'number' },
      {
        flag: '--endpoints <file>',
        path: 'console.endpointsFile',
        description: 'endpoints.json of the network (default <state-dir>/endpoints.json)',
      },
    ],
    run: async (c) => (await import('../../console/main.js')).runConsole(c),
  },
];

export function registerNfCommands(program: Command): void {
  for (const nf of NF_COMMANDS) {
    addConfigOptions(program.command(nf.name).description(nf.description), nf.flags).action(
      async (opts: Record<string, unknown>) => {
        const config = configFromFlags(opts, nf.flags);
        // --workers N (issue 16): this process becomes the node:cluster primary of N workers of the NF.
        if (shouldRunWorkers(nf.name, config.workers)) {
          runWorkerPrimary(nf.name, config.workers);
          return;
        }
        try {
          await nf.run(config);
        } catch (err) {
          if (err instanceof ConfigError)
            exitWithProblems(inFlagTerms(err, [...COMMON_FLAGS, ...nf.flags], typedByPath(opts, nf.flags)));
          const failure = listenFailureOf(err);
          if (failure) exitListenFailed(nf, { ...failure, path: ownerOf(config, nf.name, failure.port)?.path });
          throw err;
        }
      },
    );
  }
}

/**
 * A port this NF cannot take: one stderr line naming the port, the listener and the flag that moves it, exit 1.
 * Started by `gba-sim up`, the NF says it as one JSON log record instead, and up says it in terms of --base-port.
 */
function exitListenFailed(nf: NfCommand, failure: ListenFailure): never {
  if (process.env.GBA_SIM_SUPERVISED === '1') {
    const record = {
      time: new Date().toISOString(),
      level: 'error',
      nf: nf.name,
      event: LISTEN_FAILED_EVENT,
      msg: 'cannot listen',
      ...failure,
    };
    process.stdout.write(`${JSON.stringify(record)}\n`);
  } else {
    const flagOf = (path: string) => nf.flags.find((f) => f.path === path)?.flag.split(' ')[0];
    process.stderr.write(`gba-sim: ${nfListenMessage(nf.name, failure, flagOf)}\n`);
  }
  process.exit(1);
}
