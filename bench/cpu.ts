/**
 * CPU used per process during a phase, in cores (1.0 = one core busy the whole time): the bench process
 * itself (its load-generator workers included) from process.cpuUsage(), other local processes from
 * /proc/<pid>/stat, and the whole machine from /proc/stat ("machine"; "other" is what it did beyond the
 * processes watched). It shows which process saturated first, or that the cores were all busy, i.e. what
 * limited the phase. Linux only; elsewhere only the bench's own figure is there.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ; 100 on every Linux architecture Node supports

function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // after "pid (comm) "
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S; // utime, stime
  } catch {
    return undefined;
  }
}

const selfSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** CPU seconds the whole machine spent busy (all cores, every process, kernel included), from /proc/stat. */
function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!; // "cpu  user nice system idle iowait irq softirq steal …"
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
    return busy / TICKS_PER_S;
  } catch {
    return undefined;
  }
}

export class CpuMeter {
  #t0 = 0;
  #start = new Map<string, number>();

  /** `pids`: name → pid of the processes to watch; the bench itself is "loadgen". */
  constructor(readonly pids: Record<string, number | undefined>) {}

  start(): this {
    this.#t0 = performance.now();
    this.#start.set('loadgen', selfSeconds());
    const m = machineBusySeconds();
    if (m !== undefined) this.#start.set('machine', m);
    for (const [name, pid] of Object.entries(this.pids)) {
      const s = pid === undefined ? undefined : procCpuSeconds(pid);
      if (s !== undefined) this.#start.set(name, s);
    }
    return this;
  }

  /** Average cores used by each process since start(), rounded to 0.01. */
  stop(): Record<string, number> {
    const wall = (performance.now() - this.#t0) / 1000;
    const out: Record<string, number> = {};
    for (const [name, s0] of this.#start) {
      const s1 =
        name === 'loadgen'
          ? selfSeconds()
          : name === 'machine'
            ? machineBusySeconds()
            : procCpuSeconds(this.pids[name]!);
      if (s1 !== undefined && wall > 0) out[name] = Math.round(((s1 - s0) / wall) * 100) / 100;
    }
    // What the machine did beyond the processes watched: other people's work, interrupts, unwatched helpers.
    if (out.machine !== undefined) {
      const ours = Object.entries(out)
        .filter(([k]) => k !== 'machine')
        .reduce((a, [, v]) => a + v, 0);
      out.other = Math.max(0, Math.round((out.machine - ours) * 100) / 100);
    }
    return out;
  }
}
