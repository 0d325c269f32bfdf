/**
 * A private Redis Cluster of N masters (default 3) on free ports, for tests and `gba-sim bench --redis-cluster`:
 * `redis-server --cluster-enabled yes` per node, then `redis-cli --cluster create … --cluster-replicas 0
 * --cluster-yes`, then wait until every node says `cluster_state:ok`. The cluster bus listens on port + 10000, so
 * every port is ≤ 55535 and both it and its bus port were free. stop() kills every node and removes the files.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface OwnRedisCluster {
  url: string;
  ports: number[];
  pids: number[];
  dir: string;
  stop(): Promise<void>;
}

const tcpFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 35535); // ≤ 55535: the bus port p + 10000 must exist
    if (taken.has(p) || taken.has(p + 10000) || taken.has(p - 10000)) continue;
    if ((await tcpFree(p)) && (await tcpFree(p + 10000))) {
      taken.add(p);
      return p;
    }
  }
  throw new Error('no free port pair (P, P+10000) found for a Redis Cluster node');
}

async function info(port: number, section: string): Promise<string> {
  const { stdout } = await run('redis-cli', [
    '-p',
    String(port),
    section === 'cluster' ? 'CLUSTER' : 'INFO',
    ...(section === 'cluster' ? ['INFO'] : [section]),
  ]);
  return stdout;
}

export async function startOwnRedisCluster(o: { masters?: number; unref?: boolean } = {}): Promise<OwnRedisCluster> {
  const n = o.masters ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'gba-sim-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < n; i++) ports.push(await clusterPort(taken));
  const children: ChildProcess[] = ports.map((p) => {
    const c = spawn(
      'redis-server',
      [
        '--port',
        String(p),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, `nodes-${p}.conf`),
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    );
    if (o.unref) c.unref();
    return c;
  });
  const onExit = () => {
    for (const c of children) c.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) {
              resolve();
              return;
            }
            const kill = setTimeout(() => c.kill('SIGKILL'), 3000);
            c.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            c.kill('SIGTERM');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + 15_000;
    for (const p of ports) {
      for (;;) {
        const ok = await run('redis-cli', ['-p', String(p), 'PING']).then(
          (r) => r.stdout.includes('PONG'),
          () => false,
        );
        if (ok) break;
        if (Date.now() > deadline) throw new Error(`redis-server on ${p} did not answer PING`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const p of ports) {
      while (!(await info(p, 'cluster')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`Redis Cluster node ${p} did not reach cluster_state:ok`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${ports[0]}`, ports, pids: children.map((c) => c.pid!), dir, stop };
}
