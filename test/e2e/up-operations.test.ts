/**
 * `gba-sim up` for a lab that runs for days (issue 11): its own redis-server with an append-only file in the
 * state dir (kept across an `up` restart, stopped with `up`), and supervision (a child killed with SIGKILL
 * under load is back within seconds, as the same kind of child, with the sessions intact).
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { runUp, type UpProcess } from '../support/up.js';
import { freePortRange } from '../support/ports.js';
import { newImsi } from '../support/network.js';
import { referenceBootstrap } from '../support/ub-reference-client.js';
import { milenageSets, hex } from '../support/vectors.js';
import { connectRedis } from '../../shared/store/redis.js';

const SET = milenageSets()[1]!;
const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
/** The children of a process: pid and command line. */
const childrenOf = (pid: number): Array<{ pid: number; args: string }> =>
  execFileSync('ps', ['--ppid', String(pid), '-o', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = /^\s*(\d+)\s+(.*)$/.exec(l)!;
      return { pid: Number(m[1]), args: m[2]! };
    });
async function until(ms: number, what: string, cond: () => Promise<boolean> | boolean): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const env = { REDIS_URL: '', GBA_STORE: '', GBA_STORE_PREFIX: '' };

describe('gba-sim up: embedded store and supervision (real processes)', function () {
  this.timeout(180_000);
  let up: UpProcess | undefined;
  afterEach(async () => {
    await up?.stop('SIGTERM');
    up = undefined;
  });

  it('--store auto starts its own redis-server (AOF in <stateDir>/redis), restarts a killed NF under load with sessions intact, and keeps subscribers across an up restart', async () => {
    const base = await freePortRange(12);
    up = await runUp(['--base-port', String(base)], { env, timeoutMs: 60_000 });
    const e = up.endpoints;
    const dir = up.dir;
    expect(e.store).to.include({ kind: 'redis', embedded: true, dir: join(dir, 'redis') });
    const redisUrl = e.store!.redisUrl!;
    expect(new URL(redisUrl).port).to.not.equal('6379');
    const r = await connectRedis(redisUrl);
    try {
      const conf = (await r.cmd(['CONFIG', 'GET', 'dir'])) as Buffer[];
      expect(conf[1]!.toString()).to.equal(join(dir, 'redis'));
      expect(String(((await r.cmd(['CONFIG', 'GET', 'appendonly'])) as Buffer[])[1])).to.equal('yes');
    } finally {
      await r.close();
    }
    const runConfig = JSON.parse(readFileSync(join(dir, 'run', 'config.json'), 'utf8')) as {
      store: { redisUrl: string };
    };
    expect(runConfig.store.redisUrl, 'every child uses the private Redis').to.equal(redisUrl);
    expect(up.output.join('')).to.contain(`private redis-server at ${redisUrl}`);

    const imsi = newImsi();
    const impi = `${imsi}@ims.mnc001.mcc001.3gppnetwork.org`;
    const put = await fetch(`${e.hss.provisioning}/subscribers/${imsi}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${e.admin!.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ k: SET.k, opc: SET.opc }),
    });
    expect(put.status).to.equal(201);
    const first = await referenceBootstrap(e.bsf.ub, impi, hex(SET.k), hex(SET.opc), { realm: e.bsf.realm });
    expect(first.status, first.body).to.equal(200);

    // Load: bootstraps back to back while the BSF is killed.
    let stopLoad = false;
    let okAfterKill = 0;
    let killedAt = 0;
    const load = (async () => {
      while (!stopLoad) {
        const startedAt = Date.now();
        const b = await referenceBootstrap(e.bsf.ub, impi, hex(SET.k), hex(SET.opc), { realm: e.bsf.realm }).catch(
          () => undefined,
        );
        // Only a bootstrap started after the kill proves the restarted BSF serves (one in flight may finish first).
        if (b?.status === 200 && killedAt && startedAt > killedAt) okAfterKill++;
        if (!b || b.status !== 200) await new Promise((res) => setTimeout(res, 50));
      }
    })();
    await new Promise((res) => setTimeout(res, 300));
    const bsf = childrenOf(up.child.pid!).find((c) => / bsf --config /.test(c.args))!;
    expect(bsf, 'the BSF is a child `gba-sim bsf …` of up').to.not.equal(undefined);
    killedAt = Date.now();
    process.kill(bsf.pid, 'SIGKILL');
    await until(20_000, 'bootstraps succeed again after the kill', () => okAfterKill > 0);
    stopLoad = true;
    await load;
    await until(10_000, 'the BSF child is back', () =>
      childrenOf(up!.child.pid!).some((c) => / bsf --config /.test(c.args) && c.pid !== bsf.pid),
    );
    const again = childrenOf(up.child.pid!).find((c) => / bsf --config /.test(c.args));
    expect(again, 'restarted as the same kind of child').to.not.equal(undefined);
    expect(again!.pid).to.not.equal(bsf.pid);
    expect(again!.args).to.equal(bsf.args);
    expect(up.output.join('')).to.match(/\[bsf\] exited \(SIGKILL\); restarting in \d+ ms \(restart 1\)/);
    const sessions = (await (
      await fetch(`${e.bsf.admin}/sessions?impi=${encodeURIComponent(impi)}&limit=1000`, {
        headers: { authorization: `Bearer ${e.admin!.token}` },
      })
    ).json()) as { items: Array<{ btid: string }> };
    expect(
      sessions.items.map((s) => s.btid),
      'the session from before the kill',
    ).to.include(first.btid);

    // Stop: every child and the private Redis go; then the same state dir again keeps the subscriber.
    expect(await up.stop('SIGTERM')).to.equal(0);
    up = undefined;
    const redisPort = Number(new URL(redisUrl).port);
    await until(5_000, 'the embedded redis-server stopped with up', async () => !(await portOpen(redisPort)));
    expect(
      readdirSync(join(dir, 'redis')).some((f) => f.startsWith('appendonly')),
      'append-only file',
    ).to.equal(true);

    up = await runUp(['--base-port', String(base)], { env, timeoutMs: 60_000, dir });
    expect(existsSync(join(dir, 'endpoints.json'))).to.equal(true);
    const e2 = JSON.parse(readFileSync(join(dir, 'endpoints.json'), 'utf8')) as typeof e;
    const got = await fetch(`${e2.hss.provisioning}/subscribers/${imsi}`, {
      headers: { authorization: `Bearer ${e2.admin!.token}` },
    });
    expect(got.status, 'subscriber kept across an up restart').to.equal(200);
    const kept = (await (
      await fetch(`${e2.bsf.admin}/sessions?impi=${encodeURIComponent(impi)}`, {
        headers: { authorization: `Bearer ${e2.admin!.token}` },
      })
    ).json()) as { items: Array<{ btid: string }> };
    expect(kept.items.map((s) => s.btid)).to.include(first.btid);
  });
});
