/** Issue 18 finding 7: the process-level fault handlers every NF installs (shared/nf/runtime.ts), called directly. */
import { expect } from 'chai';
import { loadConfig } from '../../../../shared/config.js';
import { createLogger } from '../../../../shared/log.js';
import { nfContext, processFaultCounts, processFaultHandlers, scrubSecrets } from '../../../../shared/nf/runtime.js';

const SECRET_TEXT = 'redis://:s3cret-pw@127.0.0.1:6390 and Authorization: Bearer abcdefghijklmnop0123';

describe('process fault handlers (issue 18 finding 7)', () => {
  it('an unhandled rejection is logged without secrets, counted, and the process keeps running', () => {
    const lines: string[] = [];
    const exits: number[] = [];
    const h = processFaultHandlers(createLogger({ level: 'info', write: (l) => lines.push(l) }), (c) => exits.push(c));
    const before = processFaultCounts().unhandledRejection;
    h.onUnhandledRejection(new Error(`lost: ${SECRET_TEXT}`));
    h.onUnhandledRejection('a plain string reason');
    expect(exits).to.deep.equal([]);
    expect(processFaultCounts().unhandledRejection).to.equal(before + 2);
    expect(lines).to.have.length(2);
    const rec = JSON.parse(lines[0]!) as { level: string; event: string; reason: { message: string } };
    expect(rec).to.include({ level: 'error', event: 'process.unhandled-rejection' });
    expect(rec.reason.message).to.include('redis://[redacted]@127.0.0.1:6390').and.include('Bearer [redacted]');
    expect(lines.join('')).to.not.include('s3cret').and.not.include('abcdefghijklmnop0123');
  });

  it('an uncaught exception is logged without secrets, counted, and exits non-zero (70) for the supervisor', () => {
    const lines: string[] = [];
    const exits: number[] = [];
    const h = processFaultHandlers(createLogger({ level: 'info', write: (l) => lines.push(l) }), (c) => exits.push(c));
    const before = processFaultCounts().uncaughtException;
    h.onUncaughtException(new TypeError(`boom at ${SECRET_TEXT}`));
    expect(exits).to.deep.equal([70]);
    expect(processFaultCounts().uncaughtException).to.equal(before + 1);
    expect(lines.join('')).to.include('process.uncaught-exception').and.not.include('s3cret');
  });

  it('exits even when logging throws', () => {
    const exits: number[] = [];
    const h = processFaultHandlers(
      createLogger({
        level: 'info',
        write: () => {
          throw new Error('disk full');
        },
      }),
      (c) => exits.push(c),
    );
    expect(() => h.onUncaughtException(new Error('x'))).to.throw('disk full');
    expect(exits).to.deep.equal([70]);
    expect(() => h.onUnhandledRejection(new Error('y'))).to.not.throw();
  });

  it('every NF registry renders process_unhandled_errors_total by kind', () => {
    const { registry } = nfContext('test', loadConfig({ env: {}, flags: {} }));
    const text = registry.render();
    expect(text).to.match(/^process_unhandled_errors_total\{kind="unhandledRejection"\} \d+$/m);
    expect(text).to.match(/^process_unhandled_errors_total\{kind="uncaughtException"\} \d+$/m);
  });

  it('scrubs URL userinfo and Bearer/Basic credentials only', () => {
    expect(scrubSecrets('rediss://user:pw@h:1/0 http://h/x Basic dXNlcjpwdw== ok')).to.equal(
      'rediss://[redacted]@h:1/0 http://h/x Basic [redacted] ok',
    );
  });
});
