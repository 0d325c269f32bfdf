/**
 * `gba-sim bench` as users run it, with tiny durations: every JSON key the issue names is there as a positive
 * finite number, the table prints, an unmeasured LwM2M phase says why, and bad arguments exit 2. Nothing here
 * asserts on how fast anything is.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, runCli, type CliResult } from '../support/cli.js';
import { tempDir } from '../support/nf.js';
import { runUp } from '../support/up.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { connectRedis } from '../../shared/store/redis.js';

const BENCH_MODULE = join(REPO_ROOT, 'dist', 'bin', 'commands', 'bench.js');

let wired: Promise<boolean> | undefined;
/** Whether bin/gba-sim.ts registers `bench` yet; until it does, the built command module runs under a stand-in program. */
const cliHasBench = (): Promise<boolean> => (wired ??= runCli(['--help']).then((r) => /^\s+bench\b/m.test(r.stdout)));

async function bench(args: string[], timeoutMs = 240_000): Promise<CliResult> {
  if (await cliHasBench()) return runCli(['bench', ...args], { timeoutMs });
  if (!existsSync(BENCH_MODULE))
    throw new Error(`${BENCH_MODULE} missing: run "npm run build" (npm test does it first)`);
  const entryDir = tempDir('gba-sim-bench-entry-');
  const entry = join(entryDir, 'gba-sim.mjs');
  writeFileSync(
    entry,
    `
    import { Command } from ${JSON.stringify(pathToFileURL(createRequire(BENCH_MODULE).resolve('commander')).href)};
    import { configureExit } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'dist', 'bin', 'cli-util.js')).href)};
    import { registerBenchCommand } from ${JSON.stringify(pathToFileURL(BENCH_MODULE).href)};
    const program = configureExit(new Command('gba-sim'));
    registerBenchCommand(program);
    await program.parseAsync(process.argv);
  `,
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [entry, 'bench', ...args],
      { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 8 << 20 },
      (err, stdout, stderr) => {
        rmSync(entryDir, { recursive: true, force: true });
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

const REQUIRED: Record<string, string[]> = {
  bootstrap: ['per_s', 'p50_ms', 'p99_ms', 'p99_ms_c32'],
  zn: ['per_s'],
  n65: ['per_s'],
  diameter: ['mar_per_s', 'bir_per_s'],
  psk_lookup: ['per_s'],
  crypto: [
    'milenage_per_s',
    'ks_naf_per_s',
    'aes_block_per_s',
    'hmac_sha256_per_s',
    'noble_hmac_sha256_per_s',
    'md5_per_s',
    'noble_md5_per_s',
  ],
  baseline: ['express_per_s', 'node_http_per_s'],
  redis: ['bytes_per_session'],
};

function expectReport(r: CliResult, jsonFile: string): Record<string, Record<string, unknown>> {
  expect(r.code, `${r.stderr}\n${r.stdout}`).to.equal(0);
  const json = JSON.parse(readFileSync(jsonFile, 'utf8')) as Record<string, Record<string, unknown>>;
  for (const [group, keys] of Object.entries(REQUIRED)) {
    for (const k of keys) {
      const v = json[group]?.[k];
      expect(v, `${group}.${k}`).to.be.a('number');
      expect(Number.isFinite(v) && (v as number) > 0, `${group}.${k} = ${String(v)}`).to.equal(true);
    }
  }
  // Nested objects and plain numbers only.
  const walk = (o: unknown, path: string): void => {
    if (typeof o === 'number') {
      expect(Number.isFinite(o), path).to.equal(true);
      return;
    }
    expect(o, path).to.be.an('object');
    for (const [k, v] of Object.entries(o as object)) walk(v, `${path}.${k}`);
  };
  walk(json, '$');
  // LwM2M: measured, or the table says why not.
  const lw = json.lwm2m?.per_s;
  if (lw === undefined) expect(r.stdout).to.match(/lwm2m\.per_s \(.*\): not measured: no LwM2M server/);
  else expect(Number.isFinite(lw) && (lw as number) > 0, `lwm2m.per_s = ${String(lw)}`).to.equal(true);
  // The table.
  expect(r.stdout).to.match(/Ub bootstrap, full \(c=\d+\)\s+[\d,.]+/);
  expect(r.stdout).to.match(/Baseline: Express 5 hello/);
  expect(r.stdout).to.match(/Baseline: node:http hello/);
  expect(r.stdout).to.match(/bytes per bootstrapping session/);
  expect(r.stdout).to.contain('Targets');
  for (const t of [
    'bootstrap.per_s (c=',
    'bootstrap.p99_ms (c=4) < 25',
    'psk_lookup.per_s ≥ 0.5',
    'crypto.milenage_per_s × 6',
    'crypto.ks_naf_per_s ≥ 0.7',
    'redis.bytes_per_session ≤ 400',
  ]) {
    expect(r.stdout).to.match(new RegExp(`(PASS|MISS)  ${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  }
  return json;
}

describe('gba-sim bench (real processes)', function () {
  this.timeout(300_000);

  it('starts its own redis-server and network, prints the table and writes every JSON key as a positive number', async () => {
    const dir = tempDir('gba-sim-bench-test-');
    try {
      const json = join(dir, 'bench.json');
      const r = await bench(['--duration', '0.5', '--concurrency', '4', '--json', json, '--no-progress']);
      const out = expectReport(r, json);
      expect(out.bootstrap!.concurrency).to.equal(4);
      expect(out.redis!.sessions).to.be.at.least(100_000);
      expect(r.stdout).to.match(/store: own redis-server redis:\/\/127\.0\.0\.1:\d+/);
      expect(r.stdout).to.not.contain(':6379');
      expect(r.stderr).to.equal(''); // --no-progress
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--endpoints: benchmarks a running `gba-sim up` network and cleans up after itself on its Redis', async () => {
    const redisUrl = await testRedisUrl();
    const config = zeroPortsConfig();
    const up = await runUp(['--store', 'redis', '--redis-url', redisUrl, '--config', config], {
      env: { GBA_STORE_PREFIX: uniquePrefix('bench') },
    });
    try {
      const e = up.endpoints;
      const subscriberCount = async () =>
        (
          (await (
            await fetch(`${e.hss.provisioning}/subscribers?limit=1`, {
              headers: { authorization: `Bearer ${e.hss.adminToken}` },
            })
          ).json()) as { total: number }
        ).total;
      const before = await subscriberCount();
      const json = join(up.dir, 'bench.json');
      const r = await bench([
        '--endpoints',
        join(up.dir, 'endpoints.json'),
        '--duration',
        '0.5',
        '--concurrency',
        '4',
        '--json',
        json,
      ]);
      const out = expectReport(r, json);
      expect(r.stdout).to.contain('existing network');
      const prefix = /measured on a shared Redis under the unique prefix (gba:bench-[0-9a-f]{8}:)/.exec(r.stdout)?.[1];
      expect(prefix, r.stdout).to.be.a('string');
      expect(out.redis!.other_keys_written).to.be.a('number');
      expect(r.stderr).to.match(/bench: /); // progress lines (stderr is not a terminal here)
      // Its subscribers are deleted again, and so are the 100,000 sessions of the memory measurement.
      expect(await subscriberCount()).to.equal(before);
      const redis = await connectRedis(redisUrl);
      try {
        let cursor = '0',
          found = 0;
        do {
          const [next, keys] = (await redis.cmd(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '10000'])) as [
            Buffer,
            Buffer[],
          ];
          cursor = next.toString();
          found += keys.length;
        } while (cursor !== '0');
        expect(found).to.equal(0);
      } finally {
        await redis.close();
      }
    } finally {
      await up.stop();
      rmSync(up.dir, { recursive: true, force: true });
      rmSync(dirname(config), { recursive: true, force: true });
    }
  });

  it('bad arguments exit 2 with one line per problem', async () => {
    const r = await bench(['--concurrency', '0', '--duration', 'soon', '--sessions', '10']);
    expect(r.code).to.equal(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).to.have.length(3);
    expect(lines[0]).to.match(/^gba-sim: --concurrency: must be an integer from 1 to 4096/);
    expect(lines[1]).to.match(/^gba-sim: --duration: must be a number of seconds/);
    expect(lines[2]).to.match(/^gba-sim: --sessions: must be an integer from 100000/);
  });
});

/** A config with every listener on a free port (conventions: tests never use fixed ports). */
function zeroPortsConfig(): string {
  const file = join(tempDir('gba-sim-bench-cfg-'), 'config.json');
  writeFileSync(
    file,
    JSON.stringify({
      hss: { port: 0, diameter: { port: 0 } },
      bsf: { ubPort: 0, znPort: 0, diameter: { port: 0 } },
      naf: { uaPort: 0, pskPort: 0 },
      lwm2m: { port: 0, apiPort: 0 },
    }),
  );
  return file;
}
