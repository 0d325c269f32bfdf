/**
 * `gba-sim naf add-app --fqdn F [--name N] [--ua-id HEX] [--json]`: a Zn token for a third-party application
 * (an Express app behind `gbaAuth()`, contract C11), from a running network's BSF admin API (POST
 * {bsf.admin}/nafs, Bearer admin.token): the BSF allows the token keys for F (‖ the Ua id, or any) at once,
 * with no restart. Prints the token (or, with --json, {name, token, fqdns, znUrl}).
 */
import type { Command } from 'commander';
import { exitWithProblems, printJson } from '../cli-util.js';
import { readEndpoints } from '../endpoints-file.js';

export function registerNafAppCommands(program: Command): void {
  const naf = program.commands.find((c) => c.name() === 'naf') ?? program.command('naf');
  // `naf` has a --fqdn of its own (the NAF's): options after `add-app` belong to add-app. Commander needs
  // positional options on every level above for that (the program has only --help and --version).
  program.enablePositionalOptions();
  naf.enablePositionalOptions();
  naf
    .command('add-app')
    .description(
      'add a NAF entry for your own application to the running BSF and print its Zn token (no restart needed)',
    )
    .requiredOption('--fqdn <fqdn>', "the application's FQDN: the realm 3GPP-bootstrapping@<fqdn> and NAF_Id it uses")
    .option('--name <name>', 'a name for the entry (default app-<fqdn>)')
    .option('--ua-id <hex>', 'allow only this Ua security protocol id (10 hex digits; default: any)')
    .option('--endpoints <file>', 'endpoints.json written by `gba-sim up` (default ./.gba-sim/endpoints.json)')
    .option('--admin <url>', 'BSF admin base URL instead, e.g. http://127.0.0.1:8081/admin/v1')
    .option('--token <token>', 'admin bearer token (default: admin.token of endpoints.json)')
    .option('--json', 'print {name, token, fqdns, znUrl} instead of the token alone')
    .action(async (o: Record<string, string | boolean | undefined>) => {
      const problems: string[] = [];
      const fqdn = String(o.fqdn);
      if (
        !/^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(
          fqdn,
        )
      )
        problems.push('--fqdn: must be a DNS name');
      if (o.uaId !== undefined && !/^[0-9a-fA-F]{10}$/.test(String(o.uaId)))
        problems.push('--ua-id: must be 10 hex digits');
      if (problems.length) exitWithProblems(problems);
      const e = o.admin && o.token ? undefined : readEndpoints(o.endpoints as string | undefined);
      const admin = (o.admin as string | undefined) ?? e?.bsf.admin;
      const token = (o.token as string | undefined) ?? e?.admin?.token ?? e?.hss.adminToken;
      if (!admin) problems.push('endpoints.json names no bsf.admin; pass --admin URL');
      if (!token) problems.push('no admin token: pass --token');
      if (problems.length) exitWithProblems(problems);
      const body = {
        ...(o.name ? { name: o.name } : {}),
        fqdns: [{ fqdn, ...(o.uaId ? { uaSecProtId: String(o.uaId).toLowerCase() } : {}) }],
      };
      let res: Response;
      try {
        res = await fetch(`${String(admin).replace(/\/$/, '')}/nafs`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      } catch (err) {
        process.stderr.write(`gba-sim: BSF admin API at ${admin} unreachable: ${(err as Error).message}\n`);
        process.exit(1);
      }
      const text = await res.text();
      let j: Record<string, unknown> = {};
      try {
        j = JSON.parse(text) as Record<string, unknown>;
      } catch {
        /* shown below */
      }
      if (res.status !== 201) {
        process.stderr.write(
          `gba-sim: ${res.status} ${typeof j.detail === 'string' ? j.detail : text.slice(0, 200)}\n`,
        );
        process.exit(1);
      }
      if (o.json) printJson({ ...j, ...(e?.bsf.zn ? { znUrl: e.bsf.zn } : {}) });
      else process.stdout.write(`${String(j.token)}\n`);
    });
}
