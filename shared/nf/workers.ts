/**
 * Several worker processes of one HTTP NF on the same ports (issue 16), with node:cluster: the NF's process
 * becomes the primary, forks N workers running the same command line (so each names its NF), and the primary
 * owns the listening sockets and hands each new connection to the next worker in turn (SCHED_RR). Node 20's
 * net.Server has no SO_REUSEPORT option (`reusePort` came in Node 22.12/23.1), and round-robin hand-off spreads
 * connections evenly where kernel accept-balancing would favour the busiest-waking process.
 *
 * The NFs keep no protocol state in process (challenges, sessions and SQNs are in the shared store), so a
 * challenge issued by one worker is answered at another. The in-memory store is per process: workers need Redis.
 *
 * Metrics: each worker serves its own /metrics with a `worker="<index>"` label on every sample; a scrape of the
 * shared port reaches one worker (whichever the connection is handed to). Sum by the other labels for totals.
 */
import cluster, { type Worker } from 'node:cluster';

/** The NFs that can run as several workers: HTTP (and Diameter) servers with no per-process state. */
export const WORKER_NFS: readonly string[] = ['hss-mock', 'bsf', 'naf'];

/** This worker's index (1…N, stable across its restarts), or undefined outside a worker. */
export const workerIndex = (): string | undefined => (cluster.isWorker ? process.env.GBA_SIM_WORKER : undefined);

/** Adds `worker="<index>"` to every sample line of a Prometheus text exposition. */
export function labelSamples(text: string, worker: string): string {
  return text
    .split('\n')
    .map((line) => {
      if (!line || line.startsWith('#')) return line;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?( .*)$/.exec(line);
      if (!m) return line;
      const labels = m[2]
        ? `${m[2].slice(0, -1)}${m[2] === '{}' ? '' : ','}worker="${worker}"}`
        : `{worker="${worker}"}`;
      return `${m[1]}${labels}${m[3]}`;
    })
    .join('\n');
}

/** In a worker, makes the registry label every sample with the worker index. */
export function labelWorkerMetrics(registry: { render(): string }): void {
  const w = workerIndex();
  if (w === undefined) return;
  const render = registry.render.bind(registry);
  registry.render = () => labelSamples(render(), w);
}

/** True when this process should be the primary of `n` workers of `nf` (and not run the NF itself). */
export const shouldRunWorkers = (nf: string, n: number): boolean =>
  n > 1 && WORKER_NFS.includes(nf) && cluster.isPrimary;

/**
 * The primary: forks `n` workers, restarts one that dies (after 250 ms, giving up — exit 1 — after 5 deaths within
 * a minute, so `up`'s supervisor restarts the whole NF), and on SIGTERM stops them all before it exits.
 * Workers exit by themselves when the primary dies (node:cluster closes their IPC channel).
 */
export function runWorkerPrimary(nf: string, n: number): void {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  const line = (level: string, msg: string, extra: Record<string, unknown> = {}) =>
    process.stdout.write(
      `${JSON.stringify({ level, time: new Date().toISOString(), nf, event: 'workers', msg, ...extra })}\n`,
    );
  let stopping = false;
  const deaths: number[] = [];
  const fork = (index: number): Worker => {
    const w = cluster.fork({ GBA_SIM_WORKER: String(index) });
    w.once('exit', (code, signal) => {
      if (stopping) return;
      const now = Date.now();
      deaths.push(now);
      while (deaths.length && deaths[0]! < now - 60_000) deaths.shift();
      if (deaths.length >= 5) {
        line('error', `worker ${index} keeps exiting: stopping every worker`, { code, signal });
        void stop(1);
        return;
      }
      line('warn', `worker ${index} exited (${signal ?? code}); restarting it`);
      setTimeout(() => {
        if (!stopping) fork(index);
      }, 250);
    });
    return w;
  };
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead());
    setTimeout(() => process.exit(code || 1), 6000).unref();
    await Promise.all(
      live.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('exit', () => resolve());
            w.process.kill('SIGTERM');
          }),
      ),
    );
    process.exit(code);
  };
  process.on('SIGTERM', () => void stop(0));
  process.on('SIGINT', () => {
    if (process.env.GBA_SIM_SUPERVISED !== '1') void stop(0);
  });
  if (process.env.GBA_SIM_SUPERVISED === '1') {
    // Started by `gba-sim up`: its end of stdin closing means it is gone.
    process.stdin.on('end', () => void stop(0));
    process.stdin.on('error', () => void stop(0));
    process.stdin.resume();
  }
  line('info', `starting ${n} workers on shared ports (node:cluster, round-robin)`, { workers: n });
  for (let i = 1; i <= n; i++) fork(i);
}
