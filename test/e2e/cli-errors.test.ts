/**
 * Usage errors in one style (contract C1): `gba-sim: <flag>: <what is wrong> (got …)`, one line per problem,
 * exit 2 — for configuration problems the user caused with a flag, and for commander's own errors.
 */
import { expect } from 'chai';
import { runCli, runCliMany } from '../support/cli.js';

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

describe('CLI usage errors: one line each, exit 2', function () {
  this.timeout(60_000);

  it('a bad flag value is named by the flag, not the config path, in our words', async () => {
    const [store, two, lifetime, bsf, token] = await runCliMany([
      ['up', '--store', 'foo'],
      ['hss-mock', '--store', 'x', '--log-level', 'loud'],
      ['bsf', '--lifetime', '0', '--store', 'memory'],
      ['bsf', '--store', 'memory'],
      ['lwm2m', '--store', 'memory', '--psk-api-token', 'short-secret', '--psk-lookup-url', 'http://127.0.0.1:9/x'],
    ]);
    expect(store!.code).to.equal(2);
    expect(lines(store!.stderr)).to.deep.equal(['gba-sim: --store: expected one of auto, redis, memory (got "foo")']);
    expect(two!.code).to.equal(2);
    expect(lines(two!.stderr)).to.deep.equal([
      'gba-sim: --store: expected one of auto, redis, memory (got "x")',
      'gba-sim: --log-level: expected one of debug, info, warn, error (got "loud")',
    ]);
    expect(lines(lifetime!.stderr)).to.deep.equal(['gba-sim: --lifetime: must be at least 1 (got 0)']);
    // Required values the command has a flag for are named by that flag.
    expect(bsf!.code).to.equal(2);
    expect(lines(bsf!.stderr)).to.deep.equal([
      'gba-sim: --hss-url: required (the HSS Zh base URL, e.g. http://127.0.0.1:8082)',
      'gba-sim: --hss-token: required (a token listed in hss.zhTokens)',
    ]);
    // A token is a secret: it is never echoed back.
    expect(token!.code).to.equal(2);
    expect(lines(token!.stderr)).to.have.length(1);
    expect(token!.stderr).to.match(/^gba-sim: --psk-api-token: must be at least 16 characters/);
    expect(token!.stderr).not.to.contain('short-secret');
  });

  it('a Redis URL in an error keeps its password out (shared/redact.ts)', async () => {
    const [r] = await runCliMany([['hss-mock', '--store', 'redis', '--redis-url', 'http://:hunter2@127.0.0.1:1']]);
    expect(r!.code).to.equal(2);
    expect(lines(r!.stderr)).to.deep.equal([
      'gba-sim: --redis-url: must be a redis:// URL (got "http://:[redacted]@127.0.0.1:1")',
    ]);
    expect(r!.stderr).not.to.contain('hunter2');
  });

  it('a value from the environment keeps its config path (the flag did not cause it)', async () => {
    const r = await runCli(['up', '--store', 'memory'], { env: { GBA_STORE: 'foo' } });
    expect(r.code).to.equal(2);
    expect(lines(r.stderr)).to.deep.equal(['gba-sim: store.kind: expected one of auto, redis, memory (got "foo")']);
  });

  it("commander's own errors: unknown option, unknown command, missing argument — one line, exit 2", async () => {
    const [opt, cmd, arg, sub] = await runCliMany([
      ['up', '--bogus'],
      ['nosuch'],
      ['hss-mock', '--port'],
      ['crypto', 'milenage', '--bogus'],
    ]);
    for (const r of [opt, cmd, arg, sub]) expect(r!.code, r!.stderr).to.equal(2);
    expect(lines(opt!.stderr)).to.deep.equal(["gba-sim: unknown option '--bogus'; run with --help for usage"]);
    expect(lines(cmd!.stderr)).to.deep.equal(["gba-sim: unknown command 'nosuch'; run with --help for usage"]);
    expect(lines(arg!.stderr)).to.deep.equal([
      "gba-sim: option '--port <n>' argument missing; run with --help for usage",
    ]);
    expect(lines(sub!.stderr)).to.deep.equal(["gba-sim: unknown option '--bogus'; run with --help for usage"]);
  });

  it('help and version still exit 0', async () => {
    const [help, version] = await runCliMany([['up', '--help'], ['--version']]);
    expect(help!.code).to.equal(0);
    expect(help!.stdout).to.match(/^Usage: gba-sim up/);
    expect(version!.code).to.equal(0);
    expect(version!.stdout.trim()).to.equal('0.1.0');
  });
});
