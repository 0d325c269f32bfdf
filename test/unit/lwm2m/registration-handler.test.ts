import { expect } from 'chai';
import {
  Code,
  type CoapMessage,
  type CoapResponse,
  codeToString,
  encodeUint,
  getLocationPath,
  message,
  OptionNumber,
} from '../../../shared/coap/message.js';
import { silentLogger } from '../../../shared/log.js';
import { Registry } from '../../../shared/metrics.js';
import { buildUpdateRequest } from '../../../shared/lwm2m/registration.js';
import { createLwm2mMetrics, type Lwm2mMetrics } from '../../../lwm2m/metrics.js';
import type { Lwm2mPeer, PeerCloseReason, PeerSecurity } from '../../../lwm2m/peer.js';
import { RegistrationHandler } from '../../../lwm2m/registration-handler.js';
import { ClientRegistry, type RemovalReason } from '../../../lwm2m/registry.js';
import { registerRequest } from '../../support/lwm2m.js';

const EP = 'urn:uuid:3f2a1c44-9d0e-8b7a-8c11-5e6f7a8b9c0d';
const BTID = 'I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';
const T0 = Date.parse('2025-03-01T12:00:00Z');

interface FakePeer extends Lwm2mPeer {
  closedWith: PeerCloseReason[];
}

let peerSeq = 0;
function fakePeer(security: Partial<PeerSecurity> = {}, transport: 'tcp' | 'udp' = 'tcp'): FakePeer {
  const closedWith: PeerCloseReason[] = [];
  return {
    id: `peer-${++peerSeq}`,
    transport,
    address: '127.0.0.1:40000',
    security: {
      pskIdentity: `3GPP-bootstrapping.${BTID}`,
      endpoint: EP,
      btid: BTID,
      impi: '001010000000001@ims.mnc001.mcc001.3gppnetwork.org',
      expiresAtMs: T0 + 3600_000,
      uaSecProtId: '010001c0a8',
      ...security,
    },
    get closed() {
      return closedWith.length > 0;
    },
    request: () => Promise.reject(new Error('not used')),
    close(reason) {
      closedWith.push(reason);
    },
    closedWith,
  };
}

/** A Register as a CoAP over TCP request (no type, no message ID). */
function register(queries: string[], payload = '</1/0>,</3/0>', contentFormat?: number): CoapMessage {
  const options = [
    { number: OptionNumber.URI_PATH, value: Buffer.from('rd') },
    ...queries.map((q) => ({ number: OptionNumber.URI_QUERY, value: Buffer.from(q) })),
    ...(contentFormat !== undefined ? [{ number: OptionNumber.CONTENT_FORMAT, value: encodeUint(contentFormat) }] : []),
  ];
  return message({ code: Code.POST, options, payload: Buffer.from(payload) });
}

const request = (code: number, path: string[], queries: string[] = [], payload = ''): CoapMessage =>
  message({
    code,
    options: [
      ...path.map((s) => ({ number: OptionNumber.URI_PATH, value: Buffer.from(s) })),
      ...queries.map((q) => ({ number: OptionNumber.URI_QUERY, value: Buffer.from(q) })),
    ],
    payload: Buffer.from(payload),
  });

describe('LwM2M registration handler (Core 1.1 §6.2; docs/standards-notes/lwm2m-coap-dtls.md §3.1, §3.2)', () => {
  let now: number;
  let registry: ClientRegistry;
  let handler: RegistrationHandler;
  let metrics: Lwm2mMetrics;
  let prom: Registry;
  let removed: Array<[string, RemovalReason]>;
  let ids: number;

  beforeEach(() => {
    now = T0;
    ids = 0;
    registry = new ClientRegistry();
    prom = new Registry();
    metrics = createLwm2mMetrics(prom, () => registry.size);
    removed = [];
    registry.onRemoved((r, reason) => removed.push([r.registrationId, reason]));
    handler = new RegistrationHandler({
      registry,
      log: silentLogger,
      now: () => now,
      newRegistrationId: () => `reg${++ids}`,
      metrics,
    });
  });

  const status = (res: CoapResponse): string => codeToString(res.code);
  const diagnostic = (res: CoapResponse): string => res.payload?.toString('utf8') ?? '';

  describe('Register: query table', () => {
    const table: Array<[string, string[], string, string?]> = [
      ['1.1 with every parameter', [`ep=${EP}`, 'lt=300', 'lwm2m=1.1', 'b=T'], '2.01'],
      ['1.1 without ep (filled from the PSK identity, Core 1.1.1 §6.2.1)', ['lwm2m=1.1', 'b=T'], '2.01'],
      ['1.2 without ep', ['lwm2m=1.2'], '2.01'],
      ['1.0 by default (no lwm2m)', [`ep=${EP}`], '2.01'],
      ['queue mode in 1.1', [`ep=${EP}`, 'lwm2m=1.1', 'b=U', 'Q'], '2.01'],
      ['1.0 without ep', ['lwm2m=1.0', 'lt=60'], '4.00', 'ep is mandatory'],
      [
        'another endpoint name',
        ['ep=urn:uuid:00000000-0000-8000-8000-000000000000', 'lwm2m=1.1'],
        '4.03',
        'does not belong',
      ],
      ['LwM2M 2.0', [`ep=${EP}`, 'lwm2m=2.0'], '4.12', 'not supported'],
      ['LwM2M 1.3', [`ep=${EP}`, 'lwm2m=1.3'], '4.12'],
      ['lt not a number', [`ep=${EP}`, 'lt=abc'], '4.00', 'lt'],
      ['empty lt', [`ep=${EP}`, 'lt='], '4.00'],
      ['lt 0', [`ep=${EP}`, 'lt=0'], '4.00'],
      ['Q inside b in 1.1', [`ep=${EP}`, 'lwm2m=1.1', 'b=UQ'], '4.00', 'binding'],
      ['T binding in 1.0', [`ep=${EP}`, 'b=T'], '4.00'],
      ['Q with a value', [`ep=${EP}`, 'lwm2m=1.1', 'Q=1'], '4.00'],
      ['ep twice', [`ep=${EP}`, `ep=${EP}`], '4.00', 'repeated'],
      ['empty ep', ['ep=', 'lwm2m=1.1'], '4.00'],
      ['bad version syntax', [`ep=${EP}`, 'lwm2m=v1'], '4.00'],
    ];
    for (const [name, queries, expected, reason] of table) {
      it(`${name} → ${expected}`, () => {
        const res = handler.handle(fakePeer(), register(queries));
        expect(status(res), diagnostic(res)).to.equal(expected);
        if (reason) expect(diagnostic(res)).to.include(reason);
        expect(registry.size).to.equal(expected === '2.01' ? 1 : 0);
      });
    }

    const payloads: Array<[string, string, number | undefined]> = [
      ['an empty payload', '', undefined],
      ['a payload that is not link-format', 'hello', undefined],
      ['only the Security object', '</0/0>', undefined],
      ['a resource link', '</3/0/1>', undefined],
      ['Content-Format 42', '</1/0>,</3/0>', 42],
    ];
    for (const [name, payload, cf] of payloads) {
      it(`${name} → 4.00`, () => {
        const res = handler.handle(fakePeer(), register([`ep=${EP}`, 'lwm2m=1.1'], payload, cf));
        expect(status(res)).to.equal('4.00');
        expect(registry.size).to.equal(0);
      });
    }

    it('answers 2.01 with Location-Path rd/<id> and stores what the client sent', () => {
      const peer = fakePeer();
      const res = handler.handle(
        peer,
        registerRequestMessage({ endpoint: EP, lifetimeSec: 300, lwm2mVersion: '1.1', binding: 'T' }, [11542, 110]),
      );
      expect(status(res)).to.equal('2.01');
      expect(getLocationPath({ options: res.options ?? [] })).to.deep.equal(['rd', 'reg1']);
      const r = registry.get('reg1')!;
      expect(r).to.include({
        endpoint: EP,
        lwm2mVersion: '1.1',
        lifetimeSec: 300,
        binding: 'T',
        queueMode: false,
        registeredAtMs: T0,
        lastUpdateMs: T0,
        peer,
      });
      expect(r.contentFormats).to.deep.equal([11542, 110]);
      expect(r.objects).to.deep.equal([
        { objectId: 1, instances: [0] },
        { objectId: 3, instances: [0] },
      ]);
      expect(r.links.map((l) => l.path)).to.deep.equal(['/', '/1/0', '/3/0']);
    });

    it("fills a missing ep from the PSK identity's endpoint", () => {
      handler.handle(fakePeer({ endpoint: 'urn:imsi:001010000000001' }), register(['lwm2m=1.1']));
      expect(registry.byEndpoint('urn:imsi:001010000000001')?.registrationId).to.equal('reg1');
    });

    it('leaves the Security and OSCORE objects out of the stored links', () => {
      const res = handler.handle(fakePeer(), register([`ep=${EP}`, 'lwm2m=1.1'], '</0/0>,</1/0>,</3/0>,</21/0>'));
      expect(status(res)).to.equal('2.01');
      const r = registry.get('reg1')!;
      expect(r.objects.map((o) => o.objectId)).to.deep.equal([1, 3]);
      expect(r.links.map((l) => l.path)).to.deep.equal(['/1/0', '/3/0']);
    });

    it('refuses a Register once the bootstrapping key has expired (4.03)', () => {
      now = T0 + 3600_000;
      const res = handler.handle(fakePeer(), register([`ep=${EP}`, 'lwm2m=1.1']));
      expect(status(res)).to.equal('4.03');
      expect(diagnostic(res)).to.include('expired');
    });

    it('counts outcomes in gba_lwm2m_registrations_total{result}', () => {
      handler.handle(fakePeer(), register([`ep=${EP}`, 'lwm2m=1.1']));
      handler.handle(fakePeer(), register(['ep=other', 'lwm2m=1.1']));
      handler.handle(fakePeer(), register([`ep=${EP}`, 'lwm2m=9.9']));
      handler.handle(fakePeer(), register([`ep=${EP}`, 'lt=x']));
      expect(metrics.registrations.get({ result: 'created' })).to.equal(1);
      expect(metrics.registrations.get({ result: 'forbidden' })).to.equal(1);
      expect(metrics.registrations.get({ result: 'unsupported_version' })).to.equal(1);
      expect(metrics.registrations.get({ result: 'bad_request' })).to.equal(1);
      expect(prom.render()).to.match(/^gba_lwm2m_registrations 1$/m);
    });
  });

  describe('replacement', () => {
    it('a second Register of the same ep replaces the first (Leshan, Wakaama)', () => {
      const first = fakePeer();
      const second = fakePeer();
      expect(status(handler.handle(first, register([`ep=${EP}`, 'lwm2m=1.1'])))).to.equal('2.01');
      expect(status(handler.handle(second, register([`ep=${EP}`, 'lwm2m=1.1', 'lt=120'])))).to.equal('2.01');
      expect(registry.list().map((r) => r.registrationId)).to.deep.equal(['reg2']);
      expect(registry.byEndpoint(EP)?.peer).to.equal(second);
      expect(removed).to.deep.equal([['reg1', 'replaced']]);
      expect(metrics.deregistrations.get({ reason: 'replaced' })).to.equal(1);
      // the old id is gone: its Update is 4.04 and the old connection closing leaves the new registration alone
      expect(status(handler.handle(first, request(Code.POST, ['rd', 'reg1'])))).to.equal('4.04');
      handler.peerClosed(first);
      expect(registry.size).to.equal(1);
    });
  });

  describe('Update and De-register', () => {
    let peer: FakePeer;
    beforeEach(() => {
      peer = fakePeer();
      expect(status(handler.handle(peer, register([`ep=${EP}`, 'lwm2m=1.1', 'lt=300', 'b=T'])))).to.equal('2.01');
    });

    it('Update with no parameters refreshes lastUpdate → 2.04', () => {
      now += 100_000;
      const res = handler.handle(peer, request(Code.POST, ['rd', 'reg1']));
      expect(status(res)).to.equal('2.04');
      expect(registry.get('reg1')).to.include({ lastUpdateMs: T0 + 100_000, lifetimeSec: 300, binding: 'T' });
      expect(metrics.updates.get({ result: 'updated' })).to.equal(1);
    });

    it('Update changes lt, b and the object list', () => {
      const req = buildUpdateRequest(['rd', 'reg1'], { lifetimeSec: 600, binding: 'UT' }, '1.1', [
        { path: '/3/0', params: {} },
        { path: '/5/0', params: {} },
      ]);
      const res = handler.handle(peer, message(req));
      expect(status(res)).to.equal('2.04');
      const r = registry.get('reg1')!;
      expect(r).to.include({ lifetimeSec: 600, binding: 'UT' });
      expect(r.objects.map((o) => o.objectId)).to.deep.equal([3, 5]);
      expect(r.links.map((l) => l.path)).to.deep.equal(['/3/0', '/5/0']);
    });

    it('Update of an unknown id → 4.04', () => {
      expect(status(handler.handle(peer, request(Code.POST, ['rd', 'nope'])))).to.equal('4.04');
      expect(metrics.updates.get({ result: 'not_found' })).to.equal(1);
    });

    it('Update with a malformed query → 4.00, registration unchanged', () => {
      expect(status(handler.handle(peer, request(Code.POST, ['rd', 'reg1'], ['lt=soon'])))).to.equal('4.00');
      expect(status(handler.handle(peer, request(Code.POST, ['rd', 'reg1'], ['b=UQ'])))).to.equal('4.00');
      expect(registry.get('reg1')).to.include({ lifetimeSec: 300, binding: 'T', lastUpdateMs: T0 });
    });

    it('Update or De-register from another PSK identity → 4.03', () => {
      const intruder = fakePeer({ pskIdentity: '3GPP-bootstrapping.other@bsf', endpoint: 'urn:uuid:other' });
      expect(status(handler.handle(intruder, request(Code.POST, ['rd', 'reg1'], ['lt=10'])))).to.equal('4.03');
      expect(status(handler.handle(intruder, request(Code.DELETE, ['rd', 'reg1'])))).to.equal('4.03');
      expect(registry.get('reg1')).to.include({ lifetimeSec: 300 });
      expect(metrics.updates.get({ result: 'forbidden' })).to.equal(1);
    });

    it('Update from the same identity over another transport → 4.03', () => {
      const udp = fakePeer({}, 'udp');
      expect(status(handler.handle(udp, request(Code.POST, ['rd', 'reg1'])))).to.equal('4.03');
    });

    it('Update from a new connection of the same identity moves the registration to it', () => {
      const again = fakePeer();
      expect(status(handler.handle(again, request(Code.POST, ['rd', 'reg1'])))).to.equal('2.04');
      expect(registry.get('reg1')?.peer).to.equal(again);
      handler.peerClosed(peer);
      expect(registry.size).to.equal(1);
      handler.peerClosed(again);
      expect(registry.size).to.equal(0);
      expect(removed).to.deep.equal([['reg1', 'connection-closed']]);
    });

    it('De-register → 2.02 and the registration is gone; again → 4.04', () => {
      expect(status(handler.handle(peer, request(Code.DELETE, ['rd', 'reg1'])))).to.equal('2.02');
      expect(registry.size).to.equal(0);
      expect(removed).to.deep.equal([['reg1', 'deregistered']]);
      expect(status(handler.handle(peer, request(Code.DELETE, ['rd', 'reg1'])))).to.equal('4.04');
      expect(status(handler.handle(peer, request(Code.POST, ['rd', 'reg1'])))).to.equal('4.04');
    });

    it('the connection closing ends the registration (CoAP over TCP)', () => {
      expect(handler.peerClosed(peer).map((r) => r.registrationId)).to.deep.equal(['reg1']);
      expect(registry.size).to.equal(0);
      expect(metrics.deregistrations.get({ reason: 'connection_closed' })).to.equal(1);
    });
  });

  describe('routing', () => {
    const cases: Array<[string, CoapMessage, string]> = [
      ['GET /rd', request(Code.GET, ['rd']), '4.05'],
      ['PUT /rd/x', request(Code.PUT, ['rd', 'x']), '4.05'],
      ['POST /foo', request(Code.POST, ['foo']), '4.04'],
      ['POST /', request(Code.POST, []), '4.04'],
      ['POST /rd/x/y', request(Code.POST, ['rd', 'x', 'y']), '4.04'],
      [
        'a Uri-Path that is not UTF-8',
        message({ code: Code.POST, options: [{ number: OptionNumber.URI_PATH, value: Buffer.from([0xff]) }] }),
        '4.00',
      ],
    ];
    for (const [name, req, expected] of cases) {
      it(`${name} → ${expected}`, () => {
        expect(status(handler.handle(fakePeer(), req))).to.equal(expected);
      });
    }
  });

  describe('expiry (sweep, fake clock)', () => {
    it('removes a registration once now > lastUpdate + lt, not at lastUpdate + lt', () => {
      handler.handle(fakePeer(), register([`ep=${EP}`, 'lwm2m=1.1', 'lt=60']));
      now = T0 + 60_000;
      expect(handler.sweep()).to.deep.equal([]);
      now = T0 + 60_001;
      expect(handler.sweep().map((r) => r.registrationId)).to.deep.equal(['reg1']);
      expect(removed).to.deep.equal([['reg1', 'expired']]);
      expect(metrics.deregistrations.get({ reason: 'expired' })).to.equal(1);
    });

    it('an Update restarts the lifetime', () => {
      const peer = fakePeer();
      handler.handle(peer, register([`ep=${EP}`, 'lwm2m=1.1', 'lt=60']));
      now = T0 + 50_000;
      expect(status(handler.handle(peer, request(Code.POST, ['rd', 'reg1'])))).to.equal('2.04');
      now = T0 + 100_000;
      expect(handler.sweep()).to.deep.equal([]);
      now = T0 + 110_001;
      expect(handler.sweep()).to.have.length(1);
    });

    it('lifetime expiry ends the registration but leaves the connection open', () => {
      const peer = fakePeer();
      handler.handle(peer, register([`ep=${EP}`, 'lwm2m=1.1', 'lt=60']));
      now = T0 + 61_000;
      handler.sweep();
      expect(peer.closedWith).to.deep.equal([]);
    });

    it('removes the registration and closes the peer when the bootstrapping key expires', () => {
      const peer = fakePeer({ expiresAtMs: T0 + 30_000 });
      handler.handle(peer, register([`ep=${EP}`, 'lwm2m=1.1', 'lt=86400']));
      now = T0 + 29_999;
      expect(handler.sweep()).to.deep.equal([]);
      now = T0 + 30_000;
      expect(handler.sweep().map((r) => r.registrationId)).to.deep.equal(['reg1']);
      expect(removed).to.deep.equal([['reg1', 'psk-expired']]);
      expect(peer.closedWith).to.deep.equal(['psk-expired']);
      expect(metrics.deregistrations.get({ reason: 'psk_expired' })).to.equal(1);
    });

    it("peerPskExpired ends the peer's registrations at once", () => {
      const peer = fakePeer();
      handler.handle(peer, register([`ep=${EP}`, 'lwm2m=1.1']));
      expect(handler.peerPskExpired(peer)).to.have.length(1);
      expect(removed).to.deep.equal([['reg1', 'psk-expired']]);
    });
  });
});

function registerRequestMessage(p: Parameters<typeof registerRequest>[0], contentFormats?: number[]): CoapMessage {
  return message(registerRequest(p, contentFormats ? { contentFormats } : {}));
}
