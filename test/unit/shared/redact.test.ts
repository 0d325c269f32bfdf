import { expect } from 'chai';
import { mkdtempSync, statSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { redactUrlCredentials, writePrivateFile } from '../../../shared/redact.js';
import { redactConfig } from '../../../shared/config.js';
import { resolveStoreKind } from '../../../shared/store/open.js';

describe('redaction of URL credentials (issue 18 finding 5)', () => {
  it('replaces the password of every URL in a text, keeps the rest', () => {
    expect(redactUrlCredentials('redis://:s3cret@127.0.0.1:6380')).to.equal('redis://:[redacted]@127.0.0.1:6380');
    expect(redactUrlCredentials('Redis at rediss://app:p%40ss@h:1/2 (given)')).to.equal(
      'Redis at rediss://app:[redacted]@h:1/2 (given)',
    );
    expect(redactUrlCredentials('{"u":"redis://pw-only@h:1","v":"http://a:b@c/"}')).to.equal(
      '{"u":"redis://[redacted]@h:1","v":"http://a:[redacted]@c/"}',
    );
    expect(redactUrlCredentials('redis://127.0.0.1:6379 and b-tid@bsf.example')).to.equal(
      'redis://127.0.0.1:6379 and b-tid@bsf.example',
    );
    expect(redactUrlCredentials('no urls here')).to.equal('no urls here');
  });

  it('effective configuration and the store reason carry no password', async () => {
    const r = JSON.stringify(
      redactConfig({ store: { redisUrl: 'redis://:hunter2hunter2@h:1' }, list: ['redis://u:hunter2hunter2@h'] }),
    );
    expect(r).to.not.contain('hunter2');
    expect(r).to.contain('redis://:[redacted]@h:1');
    expect((await resolveStoreKind('redis', 'redis://:hunter2hunter2@h:1')).reason).to.equal(
      'Redis at redis://:[redacted]@h:1',
    );
    expect((await resolveStoreKind('auto', 'redis://:hunter2hunter2@h:1')).reason).to.not.contain('hunter2');
  });

  it('writePrivateFile writes mode 0600, also over a file that was 0644', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'redact-')), 'x.json');
    writeFileSync(f, 'old', { mode: 0o644 });
    chmodSync(f, 0o644);
    writePrivateFile(f, 'new');
    expect(statSync(f).mode & 0o777).to.equal(0o600);
    expect(readFileSync(f, 'utf8')).to.equal('new');
  });
});
