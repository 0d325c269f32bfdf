/** `gba-sim device bootstrap|run` — the device agent with a software USIM or a real card (contracts C1, C7). */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ArgChecker, exitWithProblems, softUsimSecrets, printJson } from '../cli-util.js';
import { readEndpoints } from '../endpoints-file.js';
import { SoftUsim, type Usim, type UsimOptions } from '../../device/usim.js';
import { openCardUsim, parseUsimSpec } from '../../device/usim/open.js';
import { CardError } from '../../device/usim/apdu.js';
import { bootstrap, UbError } from '../../device/ub-client.js';
import { bsfDomain, homeNetworkOfImsi, impiFromImsi } from '../../shared/identifiers.js';
import { runAgent } from '../../device/agent.js';
import { gbaFetch } from '../../device/ua-client.js';

interface DeviceIdentity {
  imsi: string;
  impi: string;
  realm: string;
  usim: UsimOptions;
  mncDigits: 2 | 3;
}

function addDeviceOptions(c: Command): Command {
  return c
    .option('--imsi <imsi>', 'IMSI of the (software) USIM')
    .option('--k <hex>', 'K, 16 octets')
    .option('--opc <hex>', 'OPc, 16 octets')
    .option('--op <hex>', 'OP, 16 octets')
    .option('--algorithm <name>', 'milenage (default) or xor', 'milenage')
    .option('--res-length <octets>', 'XOR RES length, 4..16', '16')
    .option('--mnc-digits <n>', 'MNC length in the IMSI: 2 or 3', '2')
    .option('--sqn-ms <hex>', 'highest SQN the USIM has accepted (6 octets; default 0, a fresh card)')
    .option('--impi <impi>', 'IMPI to use instead of the one derived from the IMSI')
    .option(
      '--usim <spec>',
      'soft (needs --imsi --k --opc|--op), pcsc[:READER] or at:DEVICE[@BAUD]: the card then gives the IMSI and runs AUTHENTICATE',
      'soft',
    )
    .option('--usim-pin <pin>', 'SIM PIN, if the modem asks for it')
    .option('--endpoints <file>', 'endpoints.json written by `gba-sim up` (default ./.gba-sim/endpoints.json)')
    .option('--bsf <url>', 'BSF Ub URL instead of endpoints.json, e.g. http://127.0.0.1:8080/')
    .option(
      '--require-rspauth',
      'refuse a 200 OK without Authentication-Info rspauth (by default accepted with a warning; rspauth is verified whenever present)',
    );
}

function deviceIdentity(o: Record<string, string | undefined>, c: ArgChecker): DeviceIdentity {
  const imsi = c.required('imsi', o.imsi);
  if (o.imsi !== undefined && !/^\d{6,15}$/.test(o.imsi)) c.problem('--imsi: must be 6 to 15 digits');
  const mncDigits = Number(o.mncDigits);
  if (mncDigits !== 2 && mncDigits !== 3) c.problem('--mnc-digits: must be 2 or 3');
  const { k, algorithm, opc, op, resLength } = softUsimSecrets(o, c);
  const sqnMs = o.sqnMs !== undefined ? c.hex('sqn-ms', o.sqnMs, 6) : undefined;
  c.done();
  const home = homeNetworkOfImsi(imsi, mncDigits as 2 | 3);
  return {
    imsi,
    mncDigits: mncDigits as 2 | 3,
    impi: o.impi ?? impiFromImsi(imsi, mncDigits as 2 | 3),
    realm: bsfDomain(home),
    usim: { algorithm, k, opc, op, resLength, sqnMs: sqnMs ? sqnMs.readUIntBE(0, 6) : 0 },
  };
}

/** The USIM of `--usim`, with the identity it gives; exits 2 on bad arguments, 1 when the card cannot be used. */
async function resolveUsim(
  o: Record<string, string | undefined>,
  c: ArgChecker,
  step: StepFn,
): Promise<{ imsi: string; impi: string; realm: string; usim: Usim; close: () => Promise<void> }> {
  const spec = parseUsimSpec(o.usim ?? 'soft');
  if (typeof spec === 'string') c.problem(spec);
  if (typeof spec === 'string' || spec.kind === 'soft') {
    const id = deviceIdentity(o, c);
    return { imsi: id.imsi, impi: id.impi, realm: id.realm, usim: new SoftUsim(id.usim), close: async () => {} };
  }
  c.done();
  const unused = ['imsi', 'k', 'opc', 'op', 'sqnMs'].filter((k) => o[k] !== undefined);
  if (unused.length)
    process.stderr.write(
      `gba-sim: --usim ${o.usim}: the card gives the IMSI and keeps K; ignoring ${unused.map((k) => `--${k.replace(/[A-Z]/g, (x) => `-${x.toLowerCase()}`)}`).join(', ')}\n`,
    );
  try {
    const card = await openCardUsim(spec, { pin: o.usimPin, onStep: step });
    const { imsi, mncLength } = card.identity;
    // The IMPI from the card's IMSI and EF_AD (TS 23.003 §13.3), never from the network's configuration.
    const impi = o.impi ?? card.identity.impi;
    step('usim.card', { imsi, mncLength, impi, ...(card.identity.iccid ? { iccid: card.identity.iccid } : {}) });
    return { imsi, impi, realm: bsfDomain(homeNetworkOfImsi(imsi, mncLength)), usim: card, close: () => card.close() };
  } catch (err) {
    process.stderr.write(`gba-sim: usim: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

type StepFn = (step: string, detail?: Record<string, unknown>) => void;

const stepPrinter =
  (enabled = true, out: NodeJS.WritableStream = process.stderr) =>
  (step: string, detail?: Record<string, unknown>) => {
    if (enabled)
      out.write(
        `${new Date().toISOString().slice(11, 23)}  ${step.padEnd(22)}${
          detail
            ? ' ' +
              Object.entries(detail)
                .map(([k, v]) => `${k}=${String(v)}`)
                .join(' ')
            : ''
        }\n`,
      );
  };

export function registerDeviceCommands(program: Command): void {
  const device = program.command('device').description('device agent with a software USIM');
  addDeviceOptions(
    device.command('bootstrap').description('run Ub only (TS 24.109) and print the B-TID and key lifetime'),
  )
    .option('--show-keys', 'also print Ks (CK ‖ IK) — lab use only')
    .option('--quiet', 'no step lines on stderr')
    .action(async (o: Record<string, string | undefined>) => {
      const c = new ArgChecker();
      const step = stepPrinter(!o.quiet);
      const id = await resolveUsim(o, c, step);
      const bsfUrl = o.bsf ?? readEndpoints(o.endpoints).bsf.ub;
      try {
        const b = await bootstrap({
          bsfUrl,
          impi: id.impi,
          realm: id.realm,
          usim: id.usim,
          onStep: step,
          requireRspauth: !!o.requireRspauth,
        });
        await id.close().catch(() => undefined);
        printJson({
          btid: b.btid,
          lifetime: new Date(b.lifetimeMs).toISOString(),
          impi: b.impi,
          ...(o.showKeys ? { ks: b.ks.toString('hex'), rand: b.rand.toString('hex') } : {}),
        });
      } catch (err) {
        if (err instanceof UbError) {
          process.stderr.write(`gba-sim: bootstrap failed (${err.reason}): ${err.message}\n`);
          process.exit(1);
        }
        if (err instanceof CardError) {
          process.stderr.write(`gba-sim: bootstrap failed (usim): ${err.message}\n`);
          process.exit(1);
        }
        throw err;
      }
    });

  addDeviceOptions(
    device
      .command('run')
      .description(
        'the whole flow: bootstrap (Ub) → provisioning (Ua) → LwM2M register over (D)TLS-PSK, then stay registered',
      ),
  )
    .option('--naf <url>', 'NAF Ua URL instead of endpoints.json, e.g. http://127.0.0.1:8083/')
    .option(
      '--ua <mode>',
      'how to reach the NAF: http (default), https (server certificate, TS 33.222 §5.3) or psk (TLS-PSK, §5.4)',
      'http',
    )
    .option(
      '--ca <file>',
      "CA certificate (PEM) that signed the NAF's HTTPS certificate (default: naf.ca of endpoints.json)",
    )
    .option(
      '--naf-fqdn <fqdn>',
      'the NAF name its certificate must carry, and the NAF_Id for TLS-PSK (default: naf.fqdn of endpoints.json)',
    )
    .option('--transport <t>', 'dtls (CoAP over DTLS, RFC 7252 — the default) or tls (CoAP over TLS, RFC 8323)', 'dtls')
    .option('--lifetime <s>', 'LwM2M registration lifetime in seconds', '300')
    .option('--once', 'register, de-register and exit 0')
    .option('--quiet', 'no step lines')
    .action(async (o: Record<string, string | undefined>) => {
      const c = new ArgChecker();
      if (o.transport !== 'tls' && o.transport !== 'dtls') c.problem('--transport: must be tls or dtls');
      const lifetimeSec = Number(o.lifetime);
      if (!/^\d+$/.test(String(o.lifetime)) || lifetimeSec < 1)
        c.problem('--lifetime: must be a whole number of seconds ≥ 1');
      const step = stepPrinter(!o.quiet, process.stdout);
      const id = await resolveUsim(o, c, step);
      const e = o.bsf && o.naf && !o.endpoints ? undefined : readEndpoints(o.endpoints);
      const bsfUrl = o.bsf ?? e!.bsf.ub;
      const mode = o.ua ?? 'http';
      if (mode !== 'http' && mode !== 'https' && mode !== 'psk') exitWithProblems(['--ua: must be http, https or psk']);
      const nafUaUrl = o.naf ?? (mode === 'https' ? e?.naf?.uaHttps : mode === 'psk' ? e?.naf?.uaPsk : e?.naf?.ua);
      if (!nafUaUrl) {
        process.stderr.write(
          `gba-sim: endpoints.json names no NAF ${mode === 'http' ? 'Ua' : mode === 'https' ? 'uaHttps' : 'uaPsk'} listener; is the NAF running?\n`,
        );
        process.exit(2);
      }
      const nafFqdn = o.nafFqdn ?? e?.naf?.fqdn;
      const caFile = o.ca ?? e?.naf?.ca;
      if (mode === 'psk' && !nafFqdn) exitWithProblems(['--ua psk needs --naf-fqdn (or endpoints.json)']);
      let ca: Buffer | undefined;
      if (mode === 'https' && caFile) {
        try {
          ca = readFileSync(caFile);
        } catch (err) {
          exitWithProblems([`--ca: ${(err as Error).message}`]);
        }
      }
      const ua =
        mode === 'psk' ? { psk: { nafFqdn: nafFqdn! } } : mode === 'https' ? { ca, servername: nafFqdn } : undefined;
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      process.once('SIGTERM', () => ac.abort());
      try {
        await runAgent({
          imsi: id.imsi,
          impi: id.impi,
          realm: id.realm,
          usim: id.usim,
          bsfUrl,
          nafUaUrl,
          ua,
          transport: o.transport as 'tls' | 'dtls',
          lifetimeSec,
          once: !!o.once,
          signal: ac.signal,
          onStep: step,
          requireRspauth: !!o.requireRspauth,
        });
        await id.close().catch(() => undefined);
        process.exit(0);
      } catch (err) {
        process.stderr.write(`gba-sim: device failed: ${(err as Error).message}\n`);
        process.exit(1);
      }
    });

  addDeviceOptions(
    device
      .command('fetch')
      .description(
        'bootstrap (Ub), then request a resource behind GBA HTTP Digest (an application using gbaAuth(), or the NAF) and print the answer',
      ),
  )
    .argument('<url>', 'e.g. http://127.0.0.1:3000/hello or https://app.example.org:8443/')
    .option('--method <m>', 'HTTP method (default GET)', 'GET')
    .option('--data <body>', 'request body (sent as application/json unless --content-type)')
    .option('--content-type <type>', 'Content-Type of --data')
    .option('--ca <file>', 'CA certificate (PEM) for an https:// URL (default: naf.ca of endpoints.json, if any)')
    .option('--servername <name>', 'the name the server certificate must carry (default: the URL host)')
    .option('--quiet', 'no step lines on stderr')
    .action(async (target: string, o: Record<string, string | undefined>) => {
      const c = new ArgChecker();
      let url: URL | undefined;
      try {
        url = new URL(target);
      } catch {
        c.problem(`<url>: not a URL: ${JSON.stringify(target)}`);
      }
      if (url && url.protocol !== 'http:' && url.protocol !== 'https:') c.problem('<url>: must be http:// or https://');
      const step = stepPrinter(!o.quiet);
      const id = await resolveUsim(o, c, step);
      c.done();
      const e = o.bsf ? undefined : readEndpoints(o.endpoints);
      const caFile = o.ca ?? (url?.protocol === 'https:' ? e?.naf?.ca : undefined);
      let ca: Buffer | undefined;
      if (caFile) {
        try {
          ca = readFileSync(caFile);
        } catch (err) {
          exitWithProblems([`--ca: ${(err as Error).message}`]);
        }
      }
      try {
        const b = await bootstrap({
          bsfUrl: o.bsf ?? e!.bsf.ub,
          impi: id.impi,
          realm: id.realm,
          usim: id.usim,
          onStep: step,
        });
        const r = await gbaFetch(
          target,
          b,
          { method: o.method, body: o.data, contentType: o.contentType, ca, servername: o.servername },
          step,
        );
        await id.close().catch(() => undefined);
        process.stdout.write(r.body.endsWith('\n') ? r.body : `${r.body}\n`);
        process.exit(r.status >= 200 && r.status < 300 ? 0 : 1);
      } catch (err) {
        process.stderr.write(`gba-sim: fetch failed: ${(err as Error).message}\n`);
        process.exit(1);
      }
    });
}
