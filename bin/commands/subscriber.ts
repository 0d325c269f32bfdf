/** `gba-sim subscriber add|get|list|delete|import` — a client of the HSS-mock provisioning API (contract C3). */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ArgChecker, exitWithProblems, printJson } from '../cli-util.js';
import { readEndpoints } from '../endpoints-file.js';

interface Target {
  base: string;
  token: string;
}

function target(opts: { endpoints?: string; url?: string; token?: string }): Target {
  if (opts.url) {
    if (!opts.token) exitWithProblems(['--token is required with --url']);
    return { base: opts.url.replace(/\/$/, ''), token: opts.token };
  }
  const e = readEndpoints(opts.endpoints);
  return { base: e.hss.provisioning.replace(/\/$/, ''), token: opts.token ?? e.hss.adminToken };
}

async function call(
  t: Target,
  method: string,
  path: string,
  body?: string,
  contentType = 'application/json',
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${t.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${t.token}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      body,
    });
  } catch (err) {
    process.stderr.write(`gba-sim: provisioning API at ${t.base} unreachable: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const text = await res.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!res.ok) {
    const p = json as { detail?: string; invalidParams?: Array<{ param: string; reason: string }> } | undefined;
    process.stderr.write(`gba-sim: ${res.status} ${p?.detail ?? text}\n`);
    for (const i of p?.invalidParams ?? []) process.stderr.write(`  ${i.param}: ${i.reason}\n`);
    process.exit(1);
  }
  return json;
}

const withTarget = (c: Command) =>
  c
    .option('--endpoints <file>', 'endpoints.json written by `gba-sim up` (default ./.gba-sim/endpoints.json)')
    .option('--url <url>', 'provisioning base URL instead, e.g. http://127.0.0.1:8082/provisioning/v1')
    .option('--token <token>', 'admin bearer token (default: from endpoints.json)');

export function registerSubscriberCommands(program: Command): void {
  const sub = program.command('subscriber').description('provision subscribers in the HSS-mock');

  withTarget(sub.command('add').description('create or replace a subscriber'))
    .option('--imsi <imsi>')
    .option('--k <hex>', 'K, 16 octets')
    .option('--opc <hex>', 'OPc, 16 octets')
    .option('--op <hex>', 'OP, 16 octets')
    .option('--amf <hex>', 'AMF (default 8000)')
    .option('--sqn <hex>', 'SQN_HE, 6 octets (default 000000000000)')
    .option('--algorithm <name>', 'milenage (default) or xor')
    .option('--res-length <octets>', 'XOR RES length, 4..16')
    .option('--impi <impi>', 'custom IMPI (ISIM-style)')
    .option('--guss <file>', 'GUSS JSON file (TS 29.562 Guss shape)')
    .action(async (o: Record<string, string | undefined>) => {
      const c = new ArgChecker();
      const imsi = c.required('imsi', o.imsi);
      if (o.imsi && !/^\d{6,15}$/.test(o.imsi)) c.problem('--imsi: must be 6 to 15 digits');
      const doc: Record<string, unknown> = { k: c.hex('k', o.k, 16).toString('hex') };
      if (o.opc !== undefined) doc.opc = c.hex('opc', o.opc, 16).toString('hex');
      if (o.op !== undefined) doc.op = c.hex('op', o.op, 16).toString('hex');
      if (o.amf !== undefined) doc.amf = c.hex('amf', o.amf, 2).toString('hex');
      if (o.sqn !== undefined) doc.sqn = c.hex('sqn', o.sqn, 6).toString('hex');
      if (o.algorithm !== undefined) doc.algorithm = o.algorithm;
      if (o.resLength !== undefined) doc.resLength = Number(o.resLength);
      if (o.impi !== undefined) doc.impi = o.impi;
      if (o.guss !== undefined) {
        try {
          doc.guss = JSON.parse(readFileSync(o.guss, 'utf8'));
        } catch (err) {
          c.problem(`--guss: ${(err as Error).message}`);
        }
      }
      c.done();
      printJson(await call(target(o), 'PUT', `/subscribers/${imsi}`, JSON.stringify(doc)));
    });

  withTarget(sub.command('get').description('read a subscriber'))
    .option('--imsi <imsi>')
    .option('--include-secrets', 'also print K, OPc/OP')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const c = new ArgChecker();
      const imsi = c.required('imsi', o.imsi as string | undefined);
      c.done();
      printJson(
        await call(
          target(o as Record<string, string>),
          'GET',
          `/subscribers/${imsi}${o.includeSecrets ? '?includeSecrets=true' : ''}`,
        ),
      );
    });

  withTarget(sub.command('list').description('list subscribers (paged)'))
    .option('--limit <n>', 'page size (default 100)')
    .option('--after <imsi>', 'start after this IMSI')
    .action(async (o: Record<string, string | undefined>) => {
      const q = new URLSearchParams();
      if (o.limit) q.set('limit', o.limit);
      if (o.after) q.set('after', o.after);
      printJson(await call(target(o), 'GET', `/subscribers${q.size ? `?${q}` : ''}`));
    });

  withTarget(sub.command('delete').description('delete a subscriber'))
    .option('--imsi <imsi>')
    .action(async (o: Record<string, string | undefined>) => {
      const c = new ArgChecker();
      const imsi = c.required('imsi', o.imsi);
      c.done();
      await call(target(o), 'DELETE', `/subscribers/${imsi}`);
      printJson({ deleted: imsi });
    });

  withTarget(
    sub
      .command('import')
      .description(
        'bulk import from a JSON array or a CSV file (header imsi,k,opc,op,amf,sqn,algorithm,resLength,impi)',
      )
      .argument('<file>'),
  ).action(async (file: string, o: Record<string, string | undefined>) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      exitWithProblems([`${file}: ${(err as Error).message}`]);
    }
    const csv = /\.csv$/i.test(file) || !/^\s*\[/.test(text);
    printJson(await call(target(o), 'POST', '/subscribers:import', text, csv ? 'text/csv' : 'application/json'));
  });
}
