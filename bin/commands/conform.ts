/**
 * `gba-sim conform bsf` (contract C8): the Ub/Zn conformance catalogue (conform/bsf-cases.ts) against any BSF,
 * one line per case as it runs, a summary, `--json` (C8 report) and `--junit` (JUnit XML for CI).
 * Exit 0 when no case fails, 1 when one does, 2 on bad arguments.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ArgChecker, softUsimSecrets } from '../cli-util.js';
import { bsfDomain, homeNetworkOfImsi, impiFromImsi } from '../../shared/identifiers.js';
import { caseLine, junitXml, reportJson, runConformance, type ConformTarget } from '../../conform/bsf-cases.js';

interface ConformFlags {
  ub?: string;
  imsi?: string;
  k?: string;
  opc?: string;
  op?: string;
  algorithm: string;
  resLength: string;
  mncDigits: string;
  impi?: string;
  realm?: string;
  sqnMs?: string;
  zn?: string;
  znToken?: string;
  nafFqdn?: string;
  json?: string;
  junit?: string;
  timeout: string;
}

function httpUrl(c: ArgChecker, name: string, v: string | undefined): string {
  if (v === undefined) {
    c.problem(`--${name} is required`);
    return '';
  }
  try {
    const u = new URL(v);
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      c.problem(`--${name}: must be an http:// or https:// URL, got ${JSON.stringify(v)}`);
  } catch {
    c.problem(`--${name}: not a URL: ${JSON.stringify(v)}`);
  }
  return v;
}

export function registerConformCommands(program: Command): void {
  const conform = program.command('conform').description('conformance tests against other equipment');
  conform
    .command('bsf')
    .description('run the Ub (TS 24.109) and Zn (TS 29.309) case catalogue UB-01…UB-13, ZN-01, ZN-02 against a BSF')
    .option('--ub <url>', "the BSF's Ub URL, e.g. http://bsf.example:8080/")
    .option('--imsi <imsi>', "IMSI of the test subscriber provisioned at the BSF's HSS")
    .option('--k <hex>', 'K, 16 octets')
    .option('--opc <hex>', 'OPc, 16 octets')
    .option('--op <hex>', 'OP, 16 octets')
    .option('--algorithm <name>', 'milenage or xor (TS 34.108 test algorithm)', 'milenage')
    .option('--res-length <octets>', 'XOR only: RES length, 4..16', '8')
    .option('--mnc-digits <n>', 'MNC length of the IMSI: 2 or 3', '2')
    .option('--impi <impi>', 'IMPI to use instead of the one derived from the IMSI (TS 23.003 §13.3)')
    .option(
      '--realm <realm>',
      "expected BSF realm (default: the BSF domain of the IMSI's home network, TS 23.003 §16.2)",
    )
    .option(
      '--sqn-ms <hex>',
      "the software USIM's highest accepted SQN at the start of each case (hex, up to 6 octets)",
      '0',
    )
    .option('--zn <url>', 'Zn base URL for ZN-01/ZN-02, e.g. http://bsf.example:8081/nbsp-gba/v1')
    .option('--zn-token <token>', 'bearer token of a NAF entry at the BSF (bsf.nafs)')
    .option('--naf-fqdn <fqdn>', 'a NAF FQDN that token may ask keys for (Ua id 0100000002)')
    .option('--json <file>', 'write the C8 JSON report to this file')
    .option('--junit <file>', 'write JUnit XML to this file')
    .option('--timeout <ms>', 'per-request timeout in milliseconds', '10000')
    .action(async (f: ConformFlags) => {
      const c = new ArgChecker();
      const ub = httpUrl(c, 'ub', f.ub);
      const imsi = c.required('imsi', f.imsi);
      if (f.imsi !== undefined && !/^\d{6,15}$/.test(f.imsi)) c.problem('--imsi: must be 6 to 15 digits');
      const keys = softUsimSecrets(f as unknown as Record<string, string | undefined>, c);
      if (f.mncDigits !== '2' && f.mncDigits !== '3') c.problem('--mnc-digits: must be 2 or 3');
      const mncDigits = f.mncDigits === '3' ? 3 : 2;
      let sqnMs = 0;
      if (f.sqnMs !== undefined) {
        if (!/^[0-9a-fA-F]{1,12}$/.test(f.sqnMs))
          c.problem(`--sqn-ms: must be 1 to 12 hex digits (6 octets), got ${JSON.stringify(f.sqnMs)}`);
        else sqnMs = parseInt(f.sqnMs, 16);
      }
      const zn = f.zn === undefined ? undefined : httpUrl(c, 'zn', f.zn);
      if (zn !== undefined) {
        if (!f.znToken) c.problem('--zn-token is required with --zn');
        if (!f.nafFqdn) c.problem('--naf-fqdn is required with --zn');
      } else if (f.znToken !== undefined || f.nafFqdn !== undefined) c.problem('--zn-token and --naf-fqdn need --zn');
      const timeoutMs = Number(f.timeout);
      if (!/^\d+$/.test(f.timeout) || timeoutMs < 100 || timeoutMs > 600_000)
        c.problem('--timeout: must be 100..600000 milliseconds');
      if (f.json === '') c.problem('--json: a file name is required');
      if (f.junit === '') c.problem('--junit: a file name is required');
      let impi = f.impi ?? '',
        realm = f.realm ?? '';
      if (!c.problems.length) {
        impi ||= impiFromImsi(imsi, mncDigits);
        realm ||= bsfDomain(homeNetworkOfImsi(imsi, mncDigits));
      }
      c.done();

      const target: ConformTarget = {
        ub,
        impi,
        realm,
        imsi,
        sqnMs,
        timeoutMs,
        keys: { algorithm: keys.algorithm, k: keys.k, opc: keys.opc, op: keys.op, resLength: keys.resLength },
        zn: zn === undefined ? undefined : { url: zn, token: f.znToken!, nafFqdn: f.nafFqdn! },
      };
      process.stdout.write(`conform bsf: ${ub} as ${impi} (realm ${realm})\n`);
      const report = await runConformance(target, { onCase: (r) => process.stdout.write(`${caseLine(r)}\n`) });
      process.stdout.write(
        `conform bsf: ${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped of ${report.cases.length}\n`,
      );
      try {
        if (f.json) writeFileSync(f.json, `${JSON.stringify(reportJson(report), null, 2)}\n`);
        if (f.junit) writeFileSync(f.junit, junitXml(report));
      } catch (err) {
        process.stderr.write(`gba-sim: cannot write the report: ${(err as Error).message}\n`);
        process.exit(1);
      }
      process.exit(report.failed ? 1 : 0);
    });
}
