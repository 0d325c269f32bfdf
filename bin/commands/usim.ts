/** `gba-sim usim info|serve|modem` — real USIMs and the lab stand-ins for them (contract C7). */
import type { Command } from 'commander';
import { ArgChecker, softUsimSecrets, exitWithProblems, printJson } from '../cli-util.js';
import { openCardUsim, parseUsimSpec } from '../../device/usim/open.js';
import { SoftCard, type SoftCardOptions } from '../../device/usim/soft-card.js';
import { serveVpcd } from '../../device/usim/vpcd.js';
import { AtModemSim, MODEM_QUIRKS, type ModemQuirk } from '../../device/usim/modem-sim.js';
import { runModemOnPty } from '../../device/usim/modem-pty.js';

function addCardOptions(c: Command): Command {
  return c
    .option('--imsi <imsi>', 'IMSI written to EF_IMSI')
    .option('--k <hex>', 'K, 16 octets')
    .option('--opc <hex>', 'OPc, 16 octets')
    .option('--op <hex>', 'OP, 16 octets')
    .option('--algorithm <name>', 'milenage (default) or xor', 'milenage')
    .option('--res-length <octets>', 'XOR RES length, 4..16', '16')
    .option('--mnc-digits <n>', 'MNC length written to EF_AD: 2 or 3', '2')
    .option('--sqn <hex>', 'highest SQN the card has accepted (6 octets; default 0, a fresh card)')
    .option('--iccid <digits>', 'ICCID written to EF_ICCID (18..20 digits; default derived from the IMSI)');
}

function softCardOptions(o: Record<string, string | undefined>, c: ArgChecker): SoftCardOptions {
  const imsi = c.required('imsi', o.imsi);
  if (o.imsi !== undefined && !/^\d{6,15}$/.test(o.imsi)) c.problem('--imsi: must be 6 to 15 digits');
  const mncLength = Number(o.mncDigits);
  if (mncLength !== 2 && mncLength !== 3) c.problem('--mnc-digits: must be 2 or 3');
  if (o.iccid !== undefined && !/^\d{18,20}$/.test(o.iccid)) c.problem('--iccid: must be 18 to 20 digits');
  const { k, algorithm, opc, op, resLength } = softUsimSecrets(o, c);
  const sqn = o.sqn !== undefined ? c.hex('sqn', o.sqn, 6) : undefined;
  return {
    imsi,
    mncLength: mncLength as 2 | 3,
    ...(o.iccid ? { iccid: o.iccid } : {}),
    usim: { algorithm, k, opc, op, resLength, sqnMs: sqn?.length ? sqn.readUIntBE(0, 6) : 0 },
  };
}

const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 23)}  ${s}\n`);

/** Resolves on SIGTERM or SIGINT. */
const untilSignal = () =>
  new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });

export function registerUsimCommands(program: Command): void {
  const usim = program
    .command('usim')
    .description('USIM cards: read one (PC/SC or AT modem), or serve a virtual card and a simulated modem');

  usim
    .command('info')
    .description('print {"imsi","mncLength","impi","iccid"} read from the card')
    .requiredOption('--usim <spec>', 'pcsc, pcsc:READER or at:DEVICE[@BAUD]')
    .option('--usim-pin <pin>', 'SIM PIN, if the modem asks for it')
    .action(async (o: Record<string, string | undefined>) => {
      const spec = parseUsimSpec(o.usim ?? '');
      if (typeof spec === 'string') exitWithProblems([spec]);
      if (spec.kind === 'soft')
        exitWithProblems(['--usim soft has no card to read: use pcsc[:READER] or at:DEVICE[@BAUD]']);
      try {
        const u = await openCardUsim(spec, { pin: o.usimPin });
        await u.close();
        printJson(u.identity);
        process.exit(0);
      } catch (err) {
        process.stderr.write(`gba-sim: usim: ${(err as Error).message}\n`);
        process.exit(1);
      }
    });

  addCardOptions(
    usim
      .command('serve')
      .description('plug a software USIM into a vsmartcard vpcd virtual reader (runs until SIGTERM)'),
  )
    .requiredOption('--vpcd <host:port>', 'where vpcd listens (the CHANNELID port of its reader), e.g. 127.0.0.1:35963')
    .action(async (o: Record<string, string | undefined>) => {
      const c = new ArgChecker();
      const m = /^(.+):(\d{1,5})$/.exec(o.vpcd ?? '');
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) c.problem('--vpcd: must be HOST:PORT');
      const card = new SoftCard(softCardOptions(o, c));
      c.done();
      const host = m![1]!.replace(/^\[|\]$/g, '');
      const server = serveVpcd(card, { host, port: Number(m![2]), onEvent: (e) => log(`card ${e}`) });
      log(`virtual USIM (IMSI ${card.o.imsi}) for vpcd at ${host}:${m![2]}`);
      await untilSignal();
      server.stop();
      process.exit(0);
    });

  addCardOptions(
    usim
      .command('modem')
      .description(
        'a simulated modem on a pty answering AT, ATE0, AT+CIMI, AT+CSIM, AT+CCHO/CGLA/CCHC (runs until SIGTERM)',
      ),
  )
    .requiredOption('--link <path>', 'PATH becomes a symlink to the pty device node')
    .option('--quirks <list>', `comma-separated: ${MODEM_QUIRKS.join(', ')}`, '')
    .option('--pin <pin>', 'make the SIM ask for this PIN (AT+CPIN)')
    .action(async (o: Record<string, string | undefined>) => {
      const c = new ArgChecker();
      const quirks = (o.quirks ?? '')
        .split(',')
        .map((q) => q.trim())
        .filter(Boolean);
      for (const q of quirks)
        if (!(MODEM_QUIRKS as readonly string[]).includes(q))
          c.problem(`--quirks: unknown quirk ${JSON.stringify(q)} (known: ${MODEM_QUIRKS.join(', ')})`);
      if (o.pin !== undefined && !/^\d{4,8}$/.test(o.pin)) c.problem('--pin: must be 4 to 8 digits');
      const card = new SoftCard(softCardOptions(o, c));
      c.done();
      const modem = new AtModemSim(card, { quirks: quirks as ModemQuirk[], ...(o.pin ? { pin: o.pin } : {}) });
      let pty;
      try {
        pty = await runModemOnPty(modem, o.link!);
      } catch (err) {
        process.stderr.write(`gba-sim: usim modem: ${(err as Error).message}\n`);
        process.exit(1);
      }
      log(`simulated modem on ${o.link} (IMSI ${card.o.imsi}${quirks.length ? `, quirks ${quirks.join(',')}` : ''})`);
      await Promise.race([untilSignal(), pty.done]);
      await pty.close();
      process.exit(0);
    });
}
