/** Turns command-line flags into config paths and loads the configuration, exiting 2 on any problem. */
import type { Command } from 'commander';
import { ConfigError, loadConfig, type ResolvedConfig } from '../shared/config.js';
import { exitWithProblems } from './cli-util.js';

export interface FlagSpec { flag: string; path: string; description: string; type?: 'string' | 'number' | 'boolean' }

/** Flags every NF command (and `up`) takes. */
export const COMMON_FLAGS: FlagSpec[] = [
  { flag: '--store <kind>', path: 'store.kind', description: 'auto | redis | memory (default auto)' },
  { flag: '--redis-url <url>', path: 'store.redisUrl', description: 'Redis URL (or REDIS_URL)' },
  { flag: '--redis-cluster', path: 'store.cluster', description: '--redis-url is a seed node of a Redis Cluster (store.cluster)', type: 'boolean' },
  { flag: '--state-dir <dir>', path: 'stateDir', description: 'state directory (default ./.gba-sim)' },
  { flag: '--log-level <level>', path: 'log.level', description: 'debug | info | warn | error' },
];

export function addConfigOptions(cmd: Command, flags: FlagSpec[]): Command {
  cmd.option('--config <file>', 'configuration file, JSON or YAML (flags override it, environment overrides flags)');
  for (const f of [...COMMON_FLAGS, ...flags]) cmd.option(f.flag, f.description);
  return cmd;
}

const camel = (flag: string): string => flag.replace(/^--/, '').split(' ')[0]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Loads the configuration from --config, the given flags and the environment; exits 2 listing every problem. */
export function configFromFlags(opts: Record<string, unknown>, flags: FlagSpec[], extra: Record<string, unknown> = {}): ResolvedConfig {
  const values: Record<string, unknown> = { ...extra };
  const problems: string[] = [];
  for (const f of [...COMMON_FLAGS, ...flags]) {
    const v = opts[camel(f.flag)];
    if (v === undefined) continue;
    if (f.type === 'number') {
      const n = Number(v);
      if (!/^\d+$/.test(String(v))) problems.push(`${f.flag.split(' ')[0]}: must be a whole number, got ${JSON.stringify(v)}`);
      values[f.path] = n;
    } else values[f.path] = v;
  }
  if (problems.length) exitWithProblems(problems);
  try {
    return loadConfig({ file: opts.config as string | undefined, flags: values });
  } catch (err) {
    if (err instanceof ConfigError) exitWithProblems(err.problems);
    throw err;
  }
}
