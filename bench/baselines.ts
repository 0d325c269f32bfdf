/**
 * The platform baselines the HTTP phases are measured against: a hello-world Express 5 app and a bare
 * node:http server, each in its own child process (like the NFs), driven by the same load generator.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type BaselineKind = 'express' | 'node_http';

interface BaselineServer {
  kind: BaselineKind;
  host: string;
  port: number;
  pid?: number;
  stop(): Promise<void>;
}

const FILES: Record<BaselineKind, string> = { express: 'express-hello', node_http: 'node-http-hello' };

/** A bench module's own file next to this one: .ts under tsx (tests), .js from dist/. */
export function siblingScript(rel: string): { file: string; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  // Under tsx the child needs tsx's loader too, named by its resolved URL so that any working directory works.
  return {
    file: fileURLToPath(new URL(`${rel}${ts ? '.ts' : '.js'}`, import.meta.url)),
    execArgv: ts ? ['--import', import.meta.resolve('tsx')] : [],
  };
}

export function startBaseline(kind: BaselineKind, env: NodeJS.ProcessEnv = process.env): Promise<BaselineServer> {
  const { file, execArgv } = siblingScript(`./servers/${FILES[kind]}`);
  const child: ChildProcess = spawn(process.execPath, [...execArgv, file], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${kind} baseline did not start: ${stderr}`));
    }, 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${kind} baseline exited (${code}): ${stderr}`));
    });
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      try {
        const { port } = JSON.parse(line) as { port: number };
        resolve({ kind, host: '127.0.0.1', port, pid: child.pid, stop });
      } catch {
        void stop();
        reject(new Error(`${kind} baseline said ${JSON.stringify(line)}`));
      }
    });
  });
}
