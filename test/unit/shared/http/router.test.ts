/** shared/http/server.ts Router: matching, parameters, 405 Allow, HEAD, fallback — no sockets. */
import { expect } from 'chai';
import { Router, type Handler } from '../../../../shared/http/server.js';
import { HttpError } from '../../../../shared/http/problem.js';

const h =
  (name: string): Handler =>
  () => ({ status: 200, body: name });

describe('shared/http/server.ts Router (no sockets)', () => {
  const router = new Router()
    .get('/a/:id/b', h('get-a-b'))
    .post('/a/:id/b', h('post-a-b'))
    .get('/plain', h('plain'))
    .delete('/plain', h('del-plain'));

  it('matches method and path and captures percent-decoded segments', () => {
    const m = router.match('GET', '/a/imsi-001%40x/b');
    expect(m && 'route' in m).to.equal(true);
    if (m && 'route' in m) expect(m.params).to.deep.equal({ id: 'imsi-001@x' });
    const post = router.match('POST', '/a/1/b');
    expect(post && 'route' in post && post.route.method).to.equal('POST');
  });

  it('ignores empty segments (trailing and doubled slashes)', () => {
    const m = router.match('GET', '//plain/');
    expect(m && 'route' in m).to.equal(true);
  });

  it('HEAD matches a GET route', () => {
    const m = router.match('HEAD', '/plain');
    expect(m && 'route' in m && m.route.method).to.equal('GET');
  });

  it('a known path with another method gives the Allow list; an unknown path nothing', () => {
    expect(router.match('PUT', '/plain')).to.deep.equal({ allow: 'GET, DELETE' });
    expect(router.match('GET', '/nowhere')).to.equal(undefined);
    expect(router.match('GET', '/a/1/b/c')).to.equal(undefined);
  });

  it('bad percent-encoding in a parameter is a 400 problem, not a crash', () => {
    let err: unknown;
    try {
      router.match('GET', '/a/%E0%A4%A/b');
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(HttpError);
    expect((err as HttpError).status).to.equal(400);
  });

  it('a fallback takes every request no route matches, whatever the method', () => {
    const r = new Router().get('/x', h('x')).fallback(h('fallback'));
    const m = r.match('PATCH', '/anything');
    expect(m && 'route' in m && m.route.method).to.equal('*');
    const x = r.match('GET', '/x');
    expect(x && 'route' in x && x.route.method).to.equal('GET');
  });
});
