/**
 * Supervision for `gba-sim up` (issue 11): a child that dies is started again, as the same kind of child, after
 * a back-off that grows with each death; when it keeps dying (maxDeaths within windowMs) the supervisor gives
 * up and `up` stops everything. The decision is a plain function of the death times (RestartPolicy).
 */
import type { ChildProcess } from 'node:child_process';

interface RestartPolicyOptions {
  /** Deaths within windowMs that make the supervisor give up (default 5 in 60 s). */
  maxDeaths: number;
  windowMs: number;
  /** Back-off after the first death, doubled for each further one in the window, at most maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
}

const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  maxDeaths: 5,
  windowMs: 60_000,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
};

type RestartDecision =
  { restart: true; delayMs: number; deathsInWindow: number } | { restart: false; deathsInWindow: number };

export class RestartPolicy {
  readonly #deaths: number[] = [];
  constructor(readonly o: RestartPolicyOptions = DEFAULT_RESTART_POLICY) {}

  /** Records a death at `nowMs` and says what to do. */
  onDeath(nowMs: number): RestartDecision {
    this.#deaths.push(nowMs);
    while (this.#deaths.length && this.#deaths[0]! <= nowMs - this.o.windowMs) this.#deaths.shift();
    const n = this.#deaths.length;
    if (n >= this.o.maxDeaths) return { restart: false, deathsInWindow: n };
    return {
      restart: true,
      delayMs: Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (n - 1)),
      deathsInWindow: n,
    };
  }
}

interface SupervisorOptions {
  name: string;
  /** Starts the child; called again, identically, for each restart. */
  spawn: () => ChildProcess;
  policy?: RestartPolicyOptions;
  onRestart?: (info: { name: string; restarts: number; delayMs: number; why: string }) => void;
  /** The child keeps dying: the caller stops the whole network. */
  onGiveUp?: (info: { name: string; why: string; deathsInWindow: number }) => void;
  /** A death before arm() (start-up failed): not restarted, reported here. */
  onEarlyExit?: (info: { name: string; why: string }) => void;
  now?: () => number;
}

export class Supervisor {
  child: ChildProcess;
  restarts = 0;
  #armed = false;
  #stopping = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #policy: RestartPolicy;
  readonly #now: () => number;

  constructor(readonly o: SupervisorOptions) {
    this.#policy = new RestartPolicy(o.policy);
    this.#now = o.now ?? Date.now;
    this.child = this.#start();
  }

  /** From now on a death means restart (before: the start-up failed). */
  arm(): void {
    this.#armed = true;
  }

  #start(): ChildProcess {
    const child = this.o.spawn();
    child.once('exit', (code, signal) => this.#died(child, `${signal ?? code}`));
    child.once('error', () => {
      /* 'exit' follows, or spawn failed: reported through exit */
    });
    return child;
  }

  #died(child: ChildProcess, why: string): void {
    if (this.#stopping || child !== this.child) return;
    if (!this.#armed) {
      this.o.onEarlyExit?.({ name: this.o.name, why });
      return;
    }
    const d = this.#policy.onDeath(this.#now());
    if (!d.restart) {
      this.o.onGiveUp?.({ name: this.o.name, why, deathsInWindow: d.deathsInWindow });
      return;
    }
    this.restarts++;
    this.o.onRestart?.({ name: this.o.name, restarts: this.restarts, delayMs: d.delayMs, why });
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#stopping) this.child = this.#start();
    }, d.delayMs);
  }

  /** SIGTERM (the child finishes in-flight work and closes its store), SIGKILL after `graceMs`. */
  stop(graceMs = 5000): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    const c = this.child;
    return new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) {
        resolve();
        return;
      }
      const kill = setTimeout(() => c.kill('SIGKILL'), graceMs);
      c.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      c.kill('SIGTERM');
    });
  }
}
