import { expect } from 'chai';
import { Code, CoapExchangeError, message } from '../../../shared/coap/message.js';
import { DecodeError, InputError } from '../../../shared/errors.js';
import { HttpError } from '../../../shared/http/problem.js';
import type { HttpRequest, HttpResponse } from '../../../shared/http/server.js';
import { silentLogger } from '../../../shared/log.js';
import type { Lwm2mPeer } from '../../../lwm2m/peer.js';
import { UnknownEndpoint, type ReadResult } from '../../../lwm2m/reads.js';
import { RegistrationHandler } from '../../../lwm2m/registration-handler.js';
import { ClientRegistry } from '../../../lwm2m/registry.js';
import { createRestRouter, getClient, listClients, readClient, type RestApiDeps } from '../../../lwm2m/rest-api.js';
import { registerRequest } from '../../support/lwm2m.js';

const T0 = Date.parse('2025-03-01T12:00:00Z');
const BTID = 'I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';
const ADMIN = 'admin-token-0123456789abcdef';

function peer(endpoint: string, n: number): Lwm2mPeer {
  return {
    id: `p${n}`,
    transport: 'tcp',
    address: `127.0.0.1:4000${n}`,
    closed: false,
    security: {
      pskIdentity: `3GPP-bootstrapping.${BTID}`,
      endpoint,
      btid: BTID,
      impi: 'x@ims',
      expiresAtMs: T0 + 7200_000,
      uaSecProtId: '010001c0a8',
    },
    request: () => Promise.reject(new Error('unused')),
    close: () => undefined,
  };
}

function thrown(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(HttpError);
    return err as HttpError;
  }
  return expect.fail('expected an HttpError');
}

async function thrownAsync(p: Promise<unknown>): Promise<HttpError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(HttpError);
    return err as HttpError;
  }
  return expect.fail('expected an HttpError');
}

const problemOf = (r: HttpResponse): Record<string, unknown> => {
  expect(r.headers?.['Content-Type']).to.equal('application/problem+json');
  return JSON.parse(String(r.body)) as Record<string, unknown>;
};

describe('LwM2M REST API handlers', () => {
  let registry: ClientRegistry;
  let deps: RestApiDeps;
  let reads: Array<[string, readonly number[], number | undefined]>;
  let readAnswer: () => Promise<ReadResult>;

  beforeEach(() => {
    registry = new ClientRegistry();
    const handler = new RegistrationHandler({
      registry,
      log: silentLogger,
      now: () => T0,
      newRegistrationId: () => `r${registry.size + 1}`,
    });
    for (const [i, ep] of ['urn:uuid:bbbb', 'urn:uuid:aaaa'].entries()) {
      const res = handler.handle(
        peer(ep, i),
        message(
          registerRequest(
            { endpoint: ep, lifetimeSec: 300, lwm2mVersion: '1.1', binding: 'T' },
            { contentFormats: [11542] },
          ),
        ),
      );
      expect(res.code).to.equal(Code.CREATED);
    }
    reads = [];
    readAnswer = async () => ({
      code: Code.CONTENT,
      status: '2.05',
      contentFormat: 11542,
      content: { 0: 'Open Mobile Alliance' },
    });
    deps = {
      adminToken: ADMIN,
      registry,
      openapi: 'openapi: 3.1.0\n',
      read: (ep, path, accept) => {
        reads.push([ep, path, accept]);
        return readAnswer();
      },
    };
  });

  it('GET /api/clients lists every registration, sorted by endpoint, in the documented shape', () => {
    const r = listClients(deps);
    expect(r.status).to.equal(200);
    const list = r.json as Array<Record<string, unknown>>;
    expect(list.map((c) => c.endpoint)).to.deep.equal(['urn:uuid:aaaa', 'urn:uuid:bbbb']);
    expect(list[0]).to.deep.equal({
      endpoint: 'urn:uuid:aaaa',
      registrationId: 'r2',
      lwm2mVersion: '1.1',
      lifetime: 300,
      binding: 'T',
      queueMode: false,
      objectLinks: [
        { url: '/', attributes: { rt: 'oma.lwm2m', ct: '11542' } },
        { url: '/1/0', attributes: {} },
        { url: '/3/0', attributes: {} },
      ],
      objects: [
        { objectId: 1, instances: [0] },
        { objectId: 3, instances: [0] },
      ],
      supportedContentFormats: [11542],
      registeredAt: '2025-03-01T12:00:00.000Z',
      lastUpdate: '2025-03-01T12:00:00.000Z',
      expiresAt: '2025-03-01T12:05:00.000Z',
      pskIdentity: `3GPP-bootstrapping.${BTID}`,
      btid: BTID,
      pskExpiresAt: '2025-03-01T14:00:00.000Z',
      transport: 'tcp',
      address: '127.0.0.1:40001',
    });
  });

  it('GET /api/clients is [] with nobody registered', () => {
    registry.clear();
    expect(listClients(deps).json).to.deep.equal([]);
  });

  it('GET /api/clients/{endpoint} gives one; an unknown one is a 404 Problem', () => {
    expect((getClient(deps, 'urn:uuid:bbbb').json as { registrationId: string }).registrationId).to.equal('r1');
    const err = thrown(() => getClient(deps, 'urn:uuid:nobody'));
    expect(err.status).to.equal(404);
    expect(err.toProblem().cause).to.equal('CLIENT_NOT_REGISTERED');
  });

  it('a read answers 200 {status, contentFormat, content} and passes path and accept on', async () => {
    const r = await readClient(
      deps,
      { endpoint: 'urn:uuid:aaaa', objectId: '3', instanceId: '0' },
      new URLSearchParams('accept=11542'),
      '/x',
    );
    expect(r.status).to.equal(200);
    expect(r.json).to.deep.equal({ status: '2.05', contentFormat: 11542, content: { 0: 'Open Mobile Alliance' } });
    await readClient(
      deps,
      { endpoint: 'urn:uuid:aaaa', objectId: '3', instanceId: '0', resourceId: '9' },
      new URLSearchParams(),
      '/x',
    );
    expect(reads).to.deep.equal([
      ['urn:uuid:aaaa', [3, 0], 11542],
      ['urn:uuid:aaaa', [3, 0, 9], undefined],
    ]);
  });

  const badParams: Array<[string, Record<string, string>, string]> = [
    ['a non-numeric object id', { objectId: 'x', instanceId: '0' }, ''],
    ['a reserved id 65535', { objectId: '3', instanceId: '65535' }, ''],
    ['a leading zero', { objectId: '03', instanceId: '0' }, ''],
    ['accept not a number', { objectId: '3', instanceId: '0' }, 'accept=tlv'],
    ['accept beyond 16 bits', { objectId: '3', instanceId: '0' }, 'accept=70000'],
  ];
  for (const [name, params, query] of badParams) {
    it(`400 for ${name}, without asking the device`, async () => {
      const err = await thrownAsync(
        readClient(deps, { endpoint: 'urn:uuid:aaaa', ...params }, new URLSearchParams(query), '/x'),
      );
      expect(err.status).to.equal(400);
      expect(reads).to.deep.equal([]);
    });
  }

  const failures: Array<[string, () => Promise<ReadResult>, number, string | undefined]> = [
    [
      'device answers 4.04',
      async () => ({ code: 0x84, status: '4.04', contentFormat: null, content: 'no such instance' }),
      404,
      '4.04',
    ],
    [
      'device answers 4.05',
      async () => ({ code: 0x85, status: '4.05', contentFormat: null, content: null }),
      405,
      '4.05',
    ],
    [
      'device answers 4.01',
      async () => ({ code: 0x81, status: '4.01', contentFormat: null, content: null }),
      403,
      '4.01',
    ],
    [
      'device answers 4.06',
      async () => ({ code: 0x86, status: '4.06', contentFormat: null, content: null }),
      406,
      '4.06',
    ],
    [
      'device answers 5.00',
      async () => ({ code: 0xa0, status: '5.00', contentFormat: null, content: null }),
      502,
      '5.00',
    ],
    [
      'device does not answer in time',
      () => Promise.reject(new CoapExchangeError('timeout', 'no response')),
      504,
      undefined,
    ],
    ['connection closed', () => Promise.reject(new CoapExchangeError('closed', 'closed')), 502, undefined],
    [
      'content does not parse',
      () => Promise.reject(new DecodeError('LwM2M-TLV', 'truncated TLV header')),
      502,
      undefined,
    ],
  ];
  for (const [name, answer, status, coapCode] of failures) {
    it(`${name} → ${status} Problem${coapCode ? ` with coapCode ${coapCode}` : ''}`, async () => {
      readAnswer = answer;
      const r = await readClient(
        deps,
        { endpoint: 'urn:uuid:aaaa', objectId: '3', instanceId: '0' },
        new URLSearchParams(),
        '/api/clients/urn:uuid:aaaa/3/0',
      );
      expect(r.status).to.equal(status);
      const p = problemOf(r);
      expect(p).to.include({ status, instance: '/api/clients/urn:uuid:aaaa/3/0' });
      expect(p.coapCode).to.equal(coapCode);
    });
  }

  it('an unknown endpoint → 404, an InputError → 400, anything else is rethrown (a 500 by the HTTP layer)', async () => {
    readAnswer = () => Promise.reject(new UnknownEndpoint('gone'));
    expect(
      (
        await thrownAsync(
          readClient(deps, { endpoint: 'urn:uuid:zzzz', objectId: '3', instanceId: '0' }, new URLSearchParams(), '/x'),
        )
      ).status,
    ).to.equal(404);
    readAnswer = () => Promise.reject(new InputError('bad path'));
    expect(
      (
        await thrownAsync(
          readClient(deps, { endpoint: 'urn:uuid:aaaa', objectId: '3', instanceId: '0' }, new URLSearchParams(), '/x'),
        )
      ).status,
    ).to.equal(400);
    readAnswer = () => Promise.reject(new TypeError('bug'));
    try {
      await readClient(
        deps,
        { endpoint: 'urn:uuid:aaaa', objectId: '3', instanceId: '0' },
        new URLSearchParams(),
        '/x',
      );
      expect.fail('expected the TypeError');
    } catch (err) {
      expect(err).to.be.instanceOf(TypeError);
    }
  });

  describe('routes', () => {
    const router = () => createRestRouter(deps);
    const call = async (path: string): Promise<HttpResponse> => {
      const m = router().match('GET', path);
      if (!m || 'allow' in m) return expect.fail(`no route for ${path}`);
      const q = path.indexOf('?');
      const req: HttpRequest = {
        method: 'GET',
        url: path,
        path,
        params: m.params,
        query: new URLSearchParams(q < 0 ? '' : path.slice(q + 1)),
        headers: {},
        body: Buffer.alloc(0),
        remoteAddress: '127.0.0.1',
      };
      return m.route.handler(req);
    };

    it('decodes a percent-encoded endpoint name', async () => {
      const r = await call(`/api/clients/${encodeURIComponent('urn:uuid:aaaa')}`);
      expect((r.json as { endpoint: string }).endpoint).to.equal('urn:uuid:aaaa');
    });

    it('routes instance and resource reads', async () => {
      await call('/api/clients/urn:uuid:aaaa/3/0');
      await call('/api/clients/urn:uuid:aaaa/3/0/1');
      expect(reads.map((r) => r[1])).to.deep.equal([
        [3, 0],
        [3, 0, 1],
      ]);
    });

    it('serves the OpenAPI document as YAML', async () => {
      const r = await call('/api/openapi.yaml');
      expect(r).to.deep.include({ status: 200, body: 'openapi: 3.1.0\n' });
      expect(r.headers?.['Content-Type']).to.equal('application/yaml');
    });

    it('every route requires the admin Bearer token (C5): missing or wrong → 401 with WWW-Authenticate: Bearer', () => {
      const routes: Array<[string, string]> = [
        ['GET', '/api/clients'],
        ['GET', '/api/clients/e'],
        ['GET', '/api/clients/e/3/0'],
        ['GET', '/api/clients/e/3/0/1'],
        ['GET', '/api/events'],
        ['GET', '/api/openapi.yaml'],
        ['GET', '/api/clients/e/3/discover'],
        ['PUT', '/api/clients/e/3/0/1'],
        ['PUT', '/api/clients/e/3/0'],
        ['PUT', '/api/clients/e/3/0/attributes'],
        ['POST', '/api/clients/e/3/0/4/execute'],
        ['POST', '/api/clients/e/3/0/observe'],
        ['DELETE', '/api/clients/e/3/0/observe'],
        ['POST', '/api/clients/e/3'],
        ['DELETE', '/api/clients/e/3/0'],
      ];
      for (const [method, path] of routes) {
        const m = router().match(method, path);
        if (!m || 'allow' in m) return expect.fail(`no route for ${method} ${path}`);
        const authorize = m.route.opts.authorize;
        if (!authorize) return expect.fail(`${method} ${path} is open`);
        for (const authorization of [
          undefined,
          'Bearer wrong-token-0123456789abcdef',
          `Basic ${ADMIN}`,
          `Bearer ${ADMIN}x`,
        ]) {
          const e = thrown(() => authorize(authorization === undefined ? {} : { authorization }));
          expect(e.status, `${method} ${path} ${authorization}`).to.equal(401);
          expect(String(e.headers?.['WWW-Authenticate'])).to.match(/^Bearer/);
        }
        expect(() => authorize({ authorization: `Bearer ${ADMIN}` })).to.not.throw();
      }
    });

    it('has no route for an object-level or resource-instance read, nor for POST', () => {
      expect(router().match('GET', '/api/clients/e/3')).to.deep.equal({ allow: 'POST' });
      expect(router().match('GET', '/api/clients/e/3/0/1/2')).to.equal(undefined);
      expect(router().match('POST', '/api/clients')).to.deep.equal({ allow: 'GET' });
    });
  });
});
