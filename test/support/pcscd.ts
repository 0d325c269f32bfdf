/**
 * A private pcscd with vsmartcard's vpcd driver (two readers, `Test vUSIM 00 00` and `… 00 01`), run in its
 * own mount namespace (pcscd writes /run/pcscd) and network namespace (vpcd listens on 0.0.0.0: inside the
 * namespace only loopback exists), with a socket-activated client socket that PCSCLITE_CSOCK_NAME points to
 * (the daemon ignores that variable; docs/lab-peers.md, "A private pcscd"). Virtual cards (`gba-sim usim serve`) are
 * plugged in with nsenter into the same network namespace. Needs root (CI runs as root).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI } from './cli.js';
import { tempDir } from './nf.js';

export const VPCD_PORT = 35963;
export const READERS = ['Test vUSIM 00 00', 'Test vUSIM 00 01'] as const;
const PY = '/usr/bin/python3';

export interface VirtualCard {
  child: ChildProcess;
  unplug(): Promise<void>;
}
export interface PrivatePcscd {
  env: { PCSCLITE_CSOCK_NAME: string };
  log: () => string;
  plug(reader: 0 | 1, cardArgs: string[]): Promise<VirtualCard>;
  stop(): Promise<void>;
}

/** Why the private pcscd cannot run here, or undefined when it can. */
export function pcscdUnavailable(): string | undefined {
  const u = spawnSync('unshare', ['-m', '-n', 'true'], { encoding: 'utf8' });
  if (u.error || u.status !== 0)
    return `unshare -m -n failed (${u.error?.message ?? u.stderr.trim()}): the PC/SC tests need root (as in CI) to run a private pcscd`;
  for (const f of ['/usr/sbin/pcscd', '/usr/lib/pcsc/drivers/serial/libifdvpcd.so', PY]) {
    if (spawnSync('test', ['-e', f]).status !== 0)
      return `${f} missing: apt-get install pcscd vsmartcard-vpcd python3 (see .ci/run)`;
  }
  return undefined;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; pcscd log:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function startPrivatePcscd(): Promise<PrivatePcscd> {
  const why = pcscdUnavailable();
  if (why) throw new Error(why);
  const dir = tempDir('gba-sim-pcscd-');
  mkdirSync(join(dir, 'conf'));
  writeFileSync(
    join(dir, 'conf', 'vpcd'),
    `FRIENDLYNAME "Test vUSIM"\nDEVICENAME   /dev/null:${VPCD_PORT}\nLIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so\nCHANNELID    ${VPCD_PORT}\n`,
  );
  const sock = join(dir, 'pcscd.comm');
  const activate =
    'import os,socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(64); os.dup2(s.fileno(),3); os.set_inheritable(3,True); os.environ.update(LISTEN_FDS="1", LISTEN_PID=str(os.getpid())); os.execv("/usr/sbin/pcscd", ["pcscd","--foreground","--info","--config",sys.argv[2]])';
  const script = `ip link set lo up && mkdir -p /run/pcscd && mount -t tmpfs -o size=1m tmpfs /run/pcscd && exec ${PY} -c '${activate}' "$0" "$1"`;
  const child = spawn(
    'unshare',
    ['-m', '-n', '--propagation', 'private', 'sh', '-c', script, sock, join(dir, 'conf')],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const out: string[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
  const log = () => out.join('');
  const cards = new Set<ChildProcess>();
  const kill = async (c: ChildProcess, group = false) => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    try {
      if (group) process.kill(-c.pid!, 'SIGTERM');
      else c.kill('SIGTERM');
    } catch {
      /* already gone */
    }
    await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
    if (c.exitCode === null && c.signalCode === null) {
      try {
        if (group) process.kill(-c.pid!, 'SIGKILL');
        else c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
  };
  const stop = async () => {
    for (const c of cards) await kill(c);
    await kill(child, true);
  };
  try {
    await waitFor('pcscd "daemon ready"', () => /daemon ready/.test(log()), 15000, log);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    env: { PCSCLITE_CSOCK_NAME: sock },
    log,
    stop,
    plug: async (reader, cardArgs) => {
      const count = (re: RegExp) => (log().match(re) ?? []).length;
      const inserted = new RegExp(`Card inserted into ${READERS[reader]}`, 'g');
      const removed = new RegExp(`Card Removed From ${READERS[reader]}`, 'gi');
      const before = count(inserted);
      const c = spawn(
        'nsenter',
        [
          '-t',
          String(child.pid),
          '-n',
          process.execPath,
          CLI,
          'usim',
          'serve',
          '--vpcd',
          `127.0.0.1:${VPCD_PORT + reader}`,
          ...cardArgs,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      c.stderr!.on('data', (d: Buffer) => out.push(`[card ${reader}] ${d.toString()}`));
      cards.add(c);
      await waitFor(`a card in ${READERS[reader]}`, () => count(inserted) > before, 20000, log);
      return {
        child: c,
        unplug: async () => {
          const gone = count(removed);
          await kill(c);
          cards.delete(c);
          await waitFor(`${READERS[reader]} empty`, () => count(removed) > gone, 20000, log);
        },
      };
    },
  };
}
