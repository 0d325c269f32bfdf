/**
 * Issue 18 findings 6, 7 and 11 at the HTTP layer (shared/http/server.ts): oversized headers → 431, CONNECT → 405,
 * a send path that cannot throw, a store that is down → 503 + Retry-After, /healthz that answers within its bound.
 */
import { expect } from 'chai';
import { connect } from 'node:net';
import { Router, startHttpServer, type RunningServer } from '../../../../shared/http/server.js';
import { StoreUnavailable } from '../../../../shared/errors.js';
import { silentLogger } from '../../../../shared/log.js';

/** Sends raw bytes and returns what the server answered before closing (or after `waitMs`). */
function raw(port: number, text: string, waitMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
      resolve(got);
    }, waitMs);
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (/\r\n\r\n/.test(got)) {
        clearTimeout(t);
        setTimeout(() => {
          s.destroy();
          resolve(got);
        }, 50);
      }
    });
    s.on('error', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.write(text);
  });
}

describe('HTTP layer hardening (issue 18: findings 6, 7, 11)', function () {
  this.timeout(20_000);
  let srv: RunningServer;
  const rejections: unknown[] = [];
  const onRejection = (r: unknown) => {
    rejections.push(r);
  };
  let healthy: () => Promise<boolean> | boolean = () => true;

  before(async () => {
    process.on('unhandledRejection', onRejection);
    const router = new Router()
      .get('/bad-header', () => ({ status: 200, headers: { 'X-Bad': 'a\nb' }, body: 'x' }))
      .get('/bad-json', () => ({ status: 200, json: { n: 1n } }))
      .get('/store-down', () => {
        throw new StoreUnavailable('redis: connection refused');
      })
      .get('/ok', () => ({ status: 200, body: 'ok' }));
    srv = await startHttpServer({
      name: 't',
      router,
      log: silentLogger,
      host: '127.0.0.1',
      port: 0,
      health: () => healthy(),
    });
  });
  after(async () => {
    await srv.close();
    process.off('unhandledRejection', onRejection);
  });

  it('headers over 16 KB → 431 Request Header Fields Too Large', async () => {
    const got = await raw(srv.port, `GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
    expect(got).to.match(/^HTTP\/1\.1 431 /);
  });

  it('headers just under 16 KB are still served', async () => {
    const got = await raw(
      srv.port,
      `GET /ok HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(15 * 1024)}\r\nConnection: close\r\n\r\n`,
    );
    expect(got).to.match(/^HTTP\/1\.1 200 /);
  });

  it('CONNECT is answered (405 with Allow), not silently dropped', async () => {
    const got = await raw(srv.port, 'CONNECT example.org:443 HTTP/1.1\r\nHost: example.org:443\r\n\r\n');
    expect(got).to.match(/^HTTP\/1\.1 405 /);
    expect(got).to.match(/\r\nAllow: /i);
  });

  it('a response the send path cannot serialise becomes a 500 problem, never an unhandled rejection', async () => {
    const r1 = await fetch(`${srv.url}/bad-header`);
    expect(r1.status).to.equal(500);
    const r2 = await fetch(`${srv.url}/bad-json`);
    expect(r2.status).to.equal(500);
    expect(r2.headers.get('content-type')).to.equal('application/problem+json');
    await new Promise((r) => setTimeout(r, 50));
    expect(rejections).to.deep.equal([]);
    expect((await fetch(`${srv.url}/ok`)).status).to.equal(200);
  });

  it('a store that is unreachable → 503 with Retry-After (a dependency failure is never a 500)', async () => {
    const r = await fetch(`${srv.url}/store-down`);
    expect(r.status).to.equal(503);
    expect(r.headers.get('retry-after')).to.match(/^\d+$/);
    const body = (await r.json()) as { detail: string };
    expect(body.detail).to.not.contain('connection refused');
  });

  it('/healthz answers 503 within its 1 s bound when the store check hangs', async () => {
    healthy = () =>
      new Promise<boolean>(() => {
        /* never */
      });
    try {
      const r = await fetch(`${srv.url}/healthz`, { signal: AbortSignal.timeout(5000) });
      expect(r.status).to.equal(503);
    } finally {
      healthy = () => true;
    }
  });
});
