/**
 * Preloaded into NF and baseline processes (NODE_OPTIONS=--import=<this file>) by `gba-sim bench --cpu-prof
 * DIR`: Node 20 refuses --cpu-prof in NODE_OPTIONS, so this starts V8's sampling profiler through the
 * inspector and writes DIR/<name>-<pid>.cpuprofile (Chrome DevTools format) when the process exits.
 */
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const dir = process.env.GBA_BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  // The NF's command (`gba-sim bsf …`) or the script's name says whose profile it is.
  const name =
    process.argv[2] && !process.argv[2].startsWith('-')
      ? process.argv[2]
      : basename(process.argv[1] ?? 'node').replace(/\.[jt]s$/, '');
  process.on('exit', () => {
    // The in-process inspector session answers synchronously, so this completes before the process is gone.
    session.post('Profiler.stop', (err, r) => {
      if (!err && r?.profile) writeFileSync(join(dir, `${name}-${process.pid}.cpuprofile`), JSON.stringify(r.profile));
    });
  });
}
