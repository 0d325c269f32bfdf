/**
 * Issue 16 end to end: `up --redis-cluster` over a 3-master Redis Cluster, `up --workers 2` (node:cluster), each
 * through a bootstrap, a PSK API lookup and a LwM2M register (`gba-sim device run --once`); and persistence: an
 * append-only Redis restarted under a running `up` loses neither the subscriber (SQN) nor a live session.
 */
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { runUp, type UpProcess } from '../support/up.js';
import { runCli } from '../support/cli.js';
import { freePort, freePortRange } from '../support/ports.js';
import { tempDir } from '../support/nf.js';
import { newImsi } from '../support/network.js';
import { testRedisUrl, uniquePrefix } from '../support/redis.js';
import { stopTestRedisCluster, testRedisCluster } from '../support/redis-cluster.js';
import { referenceBootstrap } from '../support/ub-reference-client.js';
import { milenageSets, hex } from '../support/vectors.js';
import { connectRedisCluster } from '../../shared/store/redis-cluster.js';
import { redisAnswers } from '../../shared/store/open.js';
import type { Endpoints } from '../../shared/endpoints.js';

const SET = milenageSets()[1]!;
const impiOf = (imsi: string) => `${imsi}@ims.mnc001.mcc001.3gppnetwork.org`;

async function provision(e: Endpoints, imsi: string): Promise<void> {
  const r = await fetch(`${e.hss.provisioning}/subscribers/${imsi}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${e.admin!.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ k: SET.k, opc: SET.opc }),
  });
  expect(r.status).to.equal(201);
}
const pskLookup = (e: Endpoints, btid: string) =>
  fetch(e.naf!.pskLookup, {
    method: 'POST',
    headers: { authorization: `Bearer ${e.naf!.pskApiToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ pskIdentity: `3GPP-bootstrapping.${btid}` }),
  });
const sqnOf = async (e: Endpoints, imsi: string): Promise<number> =>
  parseInt(
    (
      (await (
        await fetch(`${e.hss.provisioning}/subscribers/${imsi}`, {
          headers: { authorization: `Bearer ${e.admin!.token}` },
        })
      ).json()) as { sqn: string }
    ).sqn,
    16,
  );

/** Bootstrap, PSK API, then the whole device flow with a LwM2M register over TLS-PSK. */
async function fullFlow(up: UpProcess): Promise<string> {
  const e = up.endpoints;
  const imsi = newImsi();
  await provision(e, imsi);
  const b = await referenceBootstrap(e.bsf.ub, impiOf(imsi), hex(SET.k), hex(SET.opc), { realm: e.bsf.realm });
  expect(b.status, b.body).to.equal(200);
  expect((await pskLookup(e, b.btid!)).status).to.equal(200);
  const r = await runCli(
    [
      'device',
      'run',
      '--endpoints',
      join(up.dir, 'endpoints.json'),
      '--imsi',
      imsi,
      '--k',
      SET.k,
      '--opc',
      SET.opc,
      '--transport',
      'tls',
      '--once',
    ],
    { timeoutMs: 40_000 },
  );
  expect(r.code, r.stderr + r.stdout).to.equal(0);
  expect(r.stdout)
    .to.match(/ub\.bootstrapped/)
    .and.match(/ua\.provisioned/)
    .and.match(/lwm2m\.registered/);
  return b.btid!;
}

/** Every descendant of a process: pid and command line. */
function descendants(pid: number): Array<{ pid: number; args: string }> {
  const rows = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)!;
      return { pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! };
    });
  const out: Array<{ pid: number; args: string }> = [];
  const walk = (p: number) => {
    for (const r of rows)
      if (r.ppid === p) {
        out.push(r);
        walk(r.pid);
      }
  };
  walk(pid);
  return out;
}

describe('scaling: Redis Cluster, workers, persistence (real processes)', function () {
  this.timeout(300_000);
  let up: UpProcess | undefined;
  afterEach(async () => {
    await up?.stop('SIGTERM');
    up = undefined;
  });
  after(() => stopTestRedisCluster());

  it('`up --help` names --redis-cluster and --workers', async () => {
    const r = await runCli(['up', '--help']);
    expect(r.stdout).to.contain('--redis-cluster').and.contain('--workers <n>');
  });

  it('up --redis-cluster --redis-url <seed>: effective-config says store.cluster, a device bootstraps, gets its PSK and registers; keys on all 3 masters', async () => {
    const cluster = await testRedisCluster();
    const prefix = uniquePrefix('upcluster');
    up = await runUp(['--base-port', String(await freePortRange(10)), '--redis-cluster', '--redis-url', cluster.url], {
      env: { GBA_STORE_PREFIX: prefix, REDIS_URL: '', GBA_STORE: '' },
      timeoutMs: 120_000,
    });
    const effective = JSON.parse(readFileSync(join(up.dir, 'effective-config.json'), 'utf8')) as {
      store: { cluster: boolean; redisUrl: string };
    };
    expect(effective.store).to.include({ cluster: true, redisUrl: cluster.url });
    expect(up.output.join('')).to.contain('Redis Cluster seed node');
    for (let i = 0; i < 3; i++) await fullFlow(up);
    const port = await connectRedisCluster(cluster.url);
    try {
      const counts = await Promise.all(
        (await port.masters()).map(async (m) => {
          let cursor = '0';
          let n = 0;
          do {
            const [next, keys] = (await m.cmd(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [
              Buffer,
              Buffer[],
            ];
            cursor = next.toString();
            n += keys.length;
          } while (cursor !== '0');
          return n;
        }),
      );
      expect(counts).to.have.length(3);
      for (const n of counts) expect(n, `keys per master: ${counts.join(', ')}`).to.be.greaterThan(0);
    } finally {
      await port.close();
    }
  });

  it('up --workers 2: at least 2 processes of each HTTP NF (named on their command lines) under up; challenges answered at another worker; per-worker metrics; the full device flow', async () => {
    up = await runUp(
      [
        '--base-port',
        String(await freePortRange(10)),
        '--workers',
        '2',
        '--store',
        'redis',
        '--redis-url',
        await testRedisUrl(),
      ],
      { env: { GBA_STORE_PREFIX: uniquePrefix('upworkers') }, timeoutMs: 120_000 },
    );
    const e = up.endpoints;
    const procs = descendants(up.child.pid!);
    for (const nf of ['hss-mock', 'bsf', 'naf']) {
      const named = procs.filter((p) => new RegExp(`gba-sim\\.js ${nf} `).test(p.args));
      expect(named.length, `${nf}: ${JSON.stringify(procs.map((p) => p.args))}`).to.be.at.least(3); // a primary and 2 workers
    }
    // A fresh connection per request: node:cluster hands each to the next worker (round robin).
    const agents: Agent[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = ((u: string, init?: RequestInit) => {
      const a = new Agent();
      agents.push(a);
      return undiciFetch(u, { ...(init as object), dispatcher: a });
    }) as unknown as typeof fetch;
    const N = 10;
    try {
      const imsi = newImsi();
      await provision(e, imsi);
      for (let i = 0; i < N; i++) {
        const b = await referenceBootstrap(e.bsf.ub, impiOf(imsi), hex(SET.k), hex(SET.opc), { realm: e.bsf.realm });
        expect(b.status, b.body).to.equal(200);
      }
      // Scrape until both workers have answered (each scrape reaches one of them).
      const perWorker = new Map<string, { challenges: number; ok: number }>();
      for (let i = 0; i < 20 && perWorker.size < 2; i++) {
        const text = await (await fetch(new URL('/metrics', e.bsf.ub))).text();
        const w = /worker="(\d+)"/.exec(text)?.[1];
        expect(w, 'every sample carries a worker label').to.match(/^\d+$/);
        const sum = (re: RegExp) => [...text.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
        perWorker.set(w!, {
          challenges: sum(/^gba_ub_challenges_total\{[^}]*\} (\d+)$/gm),
          ok: sum(/^gba_ub_outcomes_total\{outcome="ok"[^}]*\} (\d+)$/gm),
        });
      }
      expect([...perWorker.keys()].sort()).to.deep.equal(['1', '2']);
      const all = [...perWorker.values()];
      expect(all.reduce((s, x) => s + x.ok, 0)).to.equal(N);
      // Had each bootstrap stayed on one worker, every worker would count as many successes as challenges.
      expect(
        all.some((x) => x.challenges !== x.ok),
        JSON.stringify(Object.fromEntries(perWorker)),
      ).to.equal(true);
    } finally {
      globalThis.fetch = realFetch;
      await Promise.all(agents.map((a) => a.close()));
    }
    await fullFlow(up);
  });

  it('an append-only Redis restarted under up: the subscriber bootstraps again with a higher SQN and an earlier B-TID still resolves through the PSK API', async () => {
    const dir = tempDir('gba-sim-aof-');
    const rport = await freePort();
    const startRedis = () =>
      spawn(
        'redis-server',
        [
          '--port',
          String(rport),
          '--bind',
          '127.0.0.1',
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
          '--save',
          '',
          '--dir',
          dir,
        ],
        { stdio: 'ignore' },
      );
    const url = `redis://127.0.0.1:${rport}`;
    const waitUp = async () => {
      for (let i = 0; i < 100 && !(await redisAnswers(url)); i++) await new Promise((r) => setTimeout(r, 50));
    };
    let redis = startRedis();
    try {
      await waitUp();
      up = await runUp(['--base-port', String(await freePortRange(10)), '--store', 'redis', '--redis-url', url], {
        env: { GBA_STORE_PREFIX: '', REDIS_URL: '', GBA_STORE: '' },
        timeoutMs: 120_000,
      });
      const e = up.endpoints;
      const imsi = newImsi();
      await provision(e, imsi);
      const first = await referenceBootstrap(e.bsf.ub, impiOf(imsi), hex(SET.k), hex(SET.opc), { realm: e.bsf.realm });
      expect(first.status, first.body).to.equal(200);
      const sqnBefore = await sqnOf(e, imsi);

      await new Promise<void>((resolve) => {
        redis.once('exit', () => resolve());
        redis.kill('SIGKILL');
      }); // no chance to save on the way out
      redis = startRedis();
      await waitUp();

      let again = await referenceBootstrap(e.bsf.ub, impiOf(imsi), hex(SET.k), hex(SET.opc), {
        realm: e.bsf.realm,
      }).catch(() => undefined);
      for (let i = 0; i < 40 && again?.status !== 200; i++) {
        // the NFs reconnect within about 0.5 s
        await new Promise((r) => setTimeout(r, 100));
        again = await referenceBootstrap(e.bsf.ub, impiOf(imsi), hex(SET.k), hex(SET.opc), {
          realm: e.bsf.realm,
        }).catch(() => undefined);
      }
      expect(again?.status, again?.body).to.equal(200);
      expect(again!.btid).to.not.equal(first.btid);
      expect(await sqnOf(e, imsi)).to.be.greaterThan(sqnBefore);
      expect((await pskLookup(e, first.btid!)).status, 'the earlier B-TID survived the restart').to.equal(200);
    } finally {
      await up?.stop('SIGTERM');
      up = undefined;
      await new Promise<void>((resolve) => {
        if (redis.exitCode !== null || redis.signalCode !== null) resolve();
        else {
          redis.once('exit', () => resolve());
          redis.kill('SIGTERM');
        }
      });
    }
  });
});
