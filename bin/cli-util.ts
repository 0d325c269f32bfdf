/** Helpers every CLI command shares: exit code 2 with one line per problem (contract C1). */
import { Command } from 'commander';

/** Prints each problem on its own stderr line and exits 2. */
export function exitWithProblems(problems: readonly string[]): never {
  for (const p of problems) process.stderr.write(`gba-sim: ${p}\n`);
  process.exit(2);
}

/** Collects argument problems so they can be reported all at once. */
export class ArgChecker {
  readonly problems: string[] = [];

  /** Hex of an exact octet length; returns a Buffer (empty when invalid, so checking can go on). */
  hex(name: string, value: string | undefined, octets?: number | readonly number[]): Buffer {
    if (value === undefined) {
      this.problems.push(`--${name} is required`);
      return Buffer.alloc(0);
    }
    if (!/^[0-9a-fA-F]*$/.test(value)) {
      this.problems.push(`--${name}: not a hex string: ${JSON.stringify(value.slice(0, 80))}`);
      return Buffer.alloc(0);
    }
    if (value.length % 2) {
      this.problems.push(`--${name}: odd number of hex digits (${value.length})`);
      return Buffer.alloc(0);
    }
    const len = value.length / 2;
    const allowed = octets === undefined ? undefined : typeof octets === 'number' ? [octets] : octets;
    if (allowed && !allowed.includes(len)) {
      const want =
        allowed.length === 1
          ? `${allowed[0]} octets (${allowed[0]! * 2} hex digits)`
          : `${allowed[0]}..${allowed[allowed.length - 1]} octets`;
      this.problems.push(`--${name}: expected ${want}, got ${len} octets`);
      return Buffer.alloc(0);
    }
    return Buffer.from(value, 'hex');
  }

  required(name: string, value: string | undefined): string {
    if (value === undefined) this.problems.push(`--${name} is required`);
    return value ?? '';
  }

  problem(p: string): void {
    this.problems.push(p);
  }

  /** Exits 2 if anything was wrong. */
  done(): void {
    if (this.problems.length) exitWithProblems(this.problems);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/**
 * commander's own usage errors (unknown option or command, missing argument, …) in our one-line style:
 * `gba-sim: unknown option '--prot' (Did you mean --port?); run with --help for usage`.
 */
function oneLineUsageError(commanderMessage: string): string {
  const text = commanderMessage
    .replace(/^error: /, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
  return `gba-sim: ${text}; run with --help for usage\n`;
}

/** A program whose usage errors are one line and exit 2 (commander's default is 1) and whose help exits 0. */
export function configureExit(program: Command): Command {
  return program.configureOutput({ outputError: (str, write) => write(oneLineUsageError(str)) }).exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : 2);
  });
}

/** The software USIM's secrets from `--k`, `--algorithm`, `--opc|--op` and `--res-length` (device and usim commands). */
export function softUsimSecrets(
  o: Record<string, string | undefined>,
  c: ArgChecker,
): {
  k: Buffer;
  algorithm: 'milenage' | 'xor';
  opc?: Buffer;
  op?: Buffer;
  resLength: number;
} {
  const k = c.hex('k', o.k, 16);
  if (o.algorithm !== 'xor' && o.algorithm !== 'milenage') c.problem('--algorithm: must be milenage or xor');
  const algorithm = o.algorithm === 'xor' ? 'xor' : 'milenage';
  let opc: Buffer | undefined, op: Buffer | undefined;
  if (algorithm === 'milenage') {
    if ((o.op === undefined) === (o.opc === undefined)) c.problem('give exactly one of --op and --opc');
    if (o.opc !== undefined) opc = c.hex('opc', o.opc, 16);
    if (o.op !== undefined) op = c.hex('op', o.op, 16);
  }
  const resLength = Number(o.resLength);
  if (!Number.isInteger(resLength) || resLength < 4 || resLength > 16) c.problem('--res-length: must be 4..16');
  return { k, algorithm, opc, op, resLength };
}
