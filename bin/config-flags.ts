/** Turns command-line flags into config paths and loads the configuration, exiting 2 on any problem. */
import type { Command } from 'commander';
import { ConfigError, loadConfig, type ConfigIssue, type ResolvedConfig } from '../shared/config.js';
import { exitWithProblems } from './cli-util.js';
import { redactUrlCredentials } from '../shared/redact.js';

export interface FlagSpec {
  flag: string;
  path: string;
  description: string;
  type?: 'string' | 'number' | 'boolean';
}

/** Flags every NF command (and `up`) takes. */
export const COMMON_FLAGS: FlagSpec[] = [
  { flag: '--store <kind>', path: 'store.kind', description: 'auto | redis | memory (default auto)' },
  { flag: '--redis-url <url>', path: 'store.redisUrl', description: 'Redis URL (or REDIS_URL)' },
  {
    flag: '--redis-cluster',
    path: 'store.cluster',
    description: '--redis-url is a seed node of a Redis Cluster (store.cluster)',
    type: 'boolean',
  },
  { flag: '--state-dir <dir>', path: 'stateDir', description: 'state directory (default ./.gba-sim)' },
  { flag: '--log-level <level>', path: 'log.level', description: 'debug | info | warn | error' },
];

export function addConfigOptions(cmd: Command, flags: FlagSpec[]): Command {
  cmd.option('--config <file>', 'configuration file, JSON or YAML (flags override it, environment overrides flags)');
  for (const f of [...COMMON_FLAGS, ...flags]) cmd.option(f.flag, f.description);
  return cmd;
}

const camel = (flag: string): string =>
  flag
    .replace(/^--/, '')
    .split(' ')[0]!
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Loads the configuration from --config, the given flags and the environment; exits 2 listing every problem. */
export function configFromFlags(
  opts: Record<string, unknown>,
  flags: FlagSpec[],
  extra: Record<string, unknown> = {},
): ResolvedConfig {
  const values: Record<string, unknown> = { ...extra };
  const problems: string[] = [];
  for (const f of [...COMMON_FLAGS, ...flags]) {
    const v = opts[camel(f.flag)];
    if (v === undefined) continue;
    if (f.type === 'number') {
      const n = Number(v);
      if (!/^\d+$/.test(String(v)))
        problems.push(`${f.flag.split(' ')[0]}: must be a whole number, got ${JSON.stringify(v)}`);
      values[f.path] = n;
    } else values[f.path] = v;
  }
  if (problems.length) exitWithProblems(problems);
  try {
    return loadConfig({ file: opts.config as string | undefined, flags: values });
  } catch (err) {
    if (err instanceof ConfigError) exitWithProblems(inFlagTerms(err, [...COMMON_FLAGS, ...flags], values));
    throw err;
  }
}

const flagName = (f: FlagSpec) => f.flag.split(' ')[0]!;
const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

/** What is wrong with a value, in our words: `expected one of auto, redis, memory (got "foo")`. */
function describeIssue(i: ConfigIssue): string {
  // Never echo a secret: no token at all, and a URL's credentials redacted (store.redisUrl may carry a password).
  const got = /token/i.test(i.path) ? '' : ` (got ${redactUrlCredentials(JSON.stringify(i.value) ?? 'undefined')})`;
  if (i.code === 'invalid_value' && i.values) return `expected one of ${i.values.map(String).join(', ')}${got}`;
  if (i.code === 'too_small' && i.minimum !== undefined)
    return `must be at least ${String(i.minimum)}${i.origin === 'string' ? ' characters long' : ''}${got}`;
  if (i.code === 'too_big' && i.maximum !== undefined)
    return `must be at most ${String(i.maximum)}${i.origin === 'string' ? ' characters long' : ''}${got}`;
  if (i.code === 'invalid_type' && i.expected !== undefined) return `expected a ${String(i.expected)}${got}`;
  return `${lowerFirst(i.message)}${got}`;
}

/**
 * Configuration problems named the way the user gave the value: a flag they typed (or, for a required value,
 * the flag this command has for it) instead of the config path, and in our words rather than the schema's;
 * a value from the config file or the environment keeps its config path. `typed` holds the typed flags' values by config path.
 */
export function inFlagTerms(
  err: ConfigError,
  flags: readonly FlagSpec[],
  typed: Readonly<Record<string, unknown>>,
): string[] {
  const flagOf = (path: string) => flags.find((f) => f.path === path);
  const fromFlag = (path: string, value: unknown) => path in typed && typed[path] === value;
  if (err.issues.length) {
    return err.issues.map((i) => {
      const f = flagOf(i.path);
      return `${f && fromFlag(i.path, i.value) ? flagName(f) : i.path || '(top level)'}: ${describeIssue(i)}`;
    });
  }
  // Problems found after validation (derived values, an NF's own checks) are "path: text".
  return err.problems.map((p) => {
    const m = /^([\w.]+): (.*)$/s.exec(p);
    const f = m ? flagOf(m[1]!) : undefined;
    return f && (m![1]! in typed || /^required\b/.test(m![2]!)) ? `${flagName(f)}: ${m![2]}` : p;
  });
}

/** The typed flags' values by config path (as configFromFlags passes them on), for inFlagTerms. */
export function typedByPath(opts: Record<string, unknown>, flags: readonly FlagSpec[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of [...COMMON_FLAGS, ...flags]) {
    const v = opts[camel(f.flag)];
    if (v !== undefined) out[f.path] = f.type === 'number' ? Number(v) : v;
  }
  return out;
}
