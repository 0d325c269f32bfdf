/** shared/http/openapi.ts: the served OpenAPI document names the URLs the NF really listens on. */
import { expect } from 'chai';
import { parse } from 'yaml';
import { readAsset } from '../../../../shared/assets.js';
import { openapiHandler, withServers } from '../../../../shared/http/openapi.js';

describe('OpenAPI servers of the served document', () => {
  for (const asset of ['hss-mock/openapi.yaml', 'bsf/openapi.yaml', 'naf/openapi.yaml', 'lwm2m/openapi.yaml']) {
    it(`${asset}: servers replaced, the rest of the document unchanged`, () => {
      const doc = readAsset(asset);
      const out = parse(
        withServers(doc, [{ url: 'http://127.0.0.1:40002' }, { url: 'http://127.0.0.1:40003', description: 'second' }]),
      ) as Record<string, unknown>;
      expect(out.servers).to.deep.equal([
        { url: 'http://127.0.0.1:40002' },
        { url: 'http://127.0.0.1:40003', description: 'second' },
      ]);
      const original = parse(doc) as Record<string, unknown>;
      delete original.servers;
      delete out.servers;
      expect(out).to.deep.equal(original);
    });
  }

  it('adds servers to a document that has none', () => {
    const out = parse(withServers('openapi: 3.0.3\npaths: {}\n', [{ url: 'http://h:1' }])) as Record<string, unknown>;
    expect(out).to.deep.equal({ openapi: '3.0.3', servers: [{ url: 'http://h:1' }], paths: {} });
  });

  it('asks for the servers only when first served (after the listener has its port)', () => {
    let port = 0;
    const h = openapiHandler('openapi: 3.0.3\nservers:\n  - url: http://127.0.0.1:8082\npaths: {}\n', () => [
      { url: `http://127.0.0.1:${port}` },
    ]);
    port = 41000;
    const r = h();
    expect(r.headers).to.deep.equal({ 'Content-Type': 'application/yaml' });
    expect((parse(String(r.body)) as { servers: unknown }).servers).to.deep.equal([{ url: 'http://127.0.0.1:41000' }]);
  });
});
