/**
 * Puts the simulated modem on a pseudo-terminal, so a host opens it like a serial port (PATH becomes a
 * symlink to the pty's device node). Node cannot allocate a pty by itself; a small Python helper (standard
 * library only) opens one, keeps the slave side open so a host may close and reopen it, and relays the
 * master side over its stdin/stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { AtModemSim } from './modem-sim.js';

const HELPER = `
import os, pty, select, sys, tty
link = sys.argv[1]
m, s = pty.openpty()
tty.setraw(s)
try: os.unlink(link)
except FileNotFoundError: pass
os.symlink(os.ttyname(s), link)
sys.stdout.buffer.write(b"R"); sys.stdout.flush()
out = sys.stdout.fileno(); inp = sys.stdin.fileno()
try:
    while True:
        r, _, _ = select.select([m, inp], [], [])
        if m in r:
            d = os.read(m, 4096)
            if d: os.write(out, d)
        if inp in r:
            d = os.read(inp, 4096)
            if not d: break
            os.write(m, d)
finally:
    try: os.unlink(link)
    except OSError: pass
`;

export interface PtyModem {
  path: string;
  close(): Promise<void>;
  done: Promise<void>;
}

export async function runModemOnPty(
  modem: AtModemSim,
  path: string,
  python = process.env.GBA_SIM_PYTHON ?? 'python3',
): Promise<PtyModem> {
  const child: ChildProcess = spawn(python, ['-c', HELPER, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`cannot start ${python} for the pty: ${err.message}`)));
    child.once('exit', (code) => reject(new Error(`the pty helper exited (${code}) before the pty was ready`)));
    child.stdout!.once('data', () => resolve());
  });
  child.stdout!.on('data', (d: Buffer) => {
    const out = modem.input(d.toString('latin1'));
    if (out) child.stdin!.write(Buffer.from(out, 'latin1'));
  });
  child.stdin!.on('error', () => undefined);
  if (!existsSync(path)) throw new Error(`${path} did not appear`);
  return {
    path,
    done,
    close: async () => {
      child.stdin!.end();
      await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
      if (child.exitCode === null) child.kill();
      await done;
    },
  };
}
