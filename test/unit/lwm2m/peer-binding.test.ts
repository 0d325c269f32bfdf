/**
 * The one peer binding of both LwM2M listeners (lwm2m/peer-binding.ts), without sockets: a fake channel, a fake
 * PSK source and a recording handler. Both transports must log the same events.
 */
import { expect } from 'chai';
import { Code, setUriPath, setUriQuery, type CoapMessage, type CoapResponse } from '../../../shared/coap/message.js';
import { createLogger } from '../../../shared/log.js';
import { registrationLifetimeSec } from '../../../lwm2m/coap-dtls-listener.js';
import { bindPeer, type PeerChannel } from '../../../lwm2m/peer-binding.js';
import type { Lwm2mPeer, PeerCloseReason, PeerSecurity, PeerTransport } from '../../../lwm2m/peer.js';

const SECURITY: PeerSecurity = {
  pskIdentity: '3GPP-bootstrapping.btid@bsf',
  endpoint: 'urn:imei:1',
  btid: 'btid@bsf',
  impi: 'impi@ims',
  expiresAtMs: Date.now() + 3_600_000,
  uaSecProtId: '010001c0a8',
};

function harness(transport: PeerTransport, describe: () => Promise<PeerSecurity | null>) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) });
  const closes: PeerCloseReason[] = [];
  let onReq: ((req: CoapMessage) => Promise<CoapResponse>) | undefined;
  let closed = false;
  const channel: PeerChannel = {
    get closed() {
      return closed;
    },
    request: async () =>
      ({
        type: 'ACK',
        code: Code.CONTENT,
        messageId: 0,
        token: Buffer.alloc(0),
        options: [],
        payload: Buffer.alloc(0),
      }) as CoapMessage,
    close: (r) => {
      closes.push(r);
      closed = true;
    },
    onRequest: (h) => {
      onReq = h;
    },
  };
  const calls = { handled: 0, closed: [] as Lwm2mPeer[], after: [] as number[] };
  const binding = bindPeer({
    id: `${transport}-1`,
    transport,
    address: '127.0.0.1:5000',
    pskIdentity: SECURITY.pskIdentity,
    uaSecProtId: '010001c0a8',
    details: { suite: 'x' },
    channel,
    pskSource: { describe },
    log,
    now: Date.now,
    registrationsEndWithChannel: transport === 'tcp',
    handler: {
      handle: () => {
        calls.handled++;
        return { code: Code.CREATED };
      },
      peerClosed: (p) => {
        calls.closed.push(p);
      },
      peerPskExpired: () => undefined,
    },
    afterRequest: (_req, res) => {
      calls.after.push(res.code);
    },
  });
  const request = (req: Partial<CoapMessage> = {}): Promise<CoapResponse> =>
    onReq!({
      type: 'CON',
      code: Code.POST,
      messageId: 1,
      token: Buffer.alloc(0),
      options: [],
      payload: Buffer.alloc(0),
      ...req,
    } as CoapMessage);
  const events = (): unknown[] => lines.map((l) => l.event);
  return { binding, request, closes, calls, events, lines };
}

describe('LwM2M peer binding (one for CoAP over TLS and over DTLS)', () => {
  for (const transport of ['tcp', 'udp'] as const) {
    it(`${transport}: binds the peer, logs lwm2m.connected, serves requests, logs lwm2m.disconnected`, async () => {
      const h = harness(transport, async () => SECURITY);
      const peer = await h.binding.ready;
      expect(peer).to.include({ id: `${transport}-1`, transport, address: '127.0.0.1:5000' });
      expect((await h.request()).code).to.equal(Code.CREATED);
      expect(h.calls.after).to.deep.equal([Code.CREATED]);
      h.binding.channelClosed({ reason: 'test' });
      await h.binding.ready;
      expect(h.events()).to.deep.equal(['lwm2m.connected', 'lwm2m.disconnected']);
      expect(h.lines[0]).to.include({
        transport,
        endpoint: 'urn:imei:1',
        pskIdentity: SECURITY.pskIdentity,
        suite: 'x',
      });
      // RFC 8323 binds registrations to the connection; over DTLS they outlive the association.
      expect(h.calls.closed).to.have.length(transport === 'tcp' ? 1 : 0);
    });

    it(`${transport}: an identity the PSK API no longer knows is refused, logged, and gets 5.03`, async () => {
      const h = harness(transport, async () => null);
      expect(await h.binding.ready).to.equal(undefined);
      expect(h.events()).to.deep.equal(['lwm2m.peer-refused']);
      expect(h.closes).to.deep.equal(['error']);
      expect((await h.request()).code).to.equal(Code.SERVICE_UNAVAILABLE);
      expect(h.calls.handled).to.equal(0);
    });

    it(`${transport}: a failing PSK API is refused and logged the same way`, async () => {
      const h = harness(transport, async () => {
        throw new Error('PSK API down');
      });
      expect(await h.binding.ready).to.equal(undefined);
      expect(h.events()).to.deep.equal(['lwm2m.peer-refused']);
      expect(h.closes).to.deep.equal(['error']);
    });
  }
});

describe('DTLS idle timeout from the registration lifetime (LwM2M Core 1.1 §6.2.1-2)', () => {
  const req = (path: string[], query: string[] = []): CoapMessage =>
    setUriQuery(
      setUriPath(
        {
          type: 'CON',
          code: Code.POST,
          messageId: 1,
          token: Buffer.alloc(0),
          options: [],
          payload: Buffer.alloc(0),
        } as CoapMessage,
        path,
      ),
      query,
    );
  it('takes lt from a successful Register or Update, 86400 for a Register without lt', () => {
    expect(registrationLifetimeSec(req(['rd'], ['ep=x', 'lt=120']), { code: Code.CREATED })).to.equal(120);
    expect(registrationLifetimeSec(req(['rd'], ['ep=x']), { code: Code.CREATED })).to.equal(86_400);
    expect(registrationLifetimeSec(req(['rd', 'abc'], ['lt=60']), { code: Code.CHANGED })).to.equal(60);
  });
  it('ignores failures, Updates without lt, and anything else', () => {
    expect(registrationLifetimeSec(req(['rd'], ['lt=120']), { code: Code.BAD_REQUEST })).to.equal(undefined);
    expect(registrationLifetimeSec(req(['rd', 'abc']), { code: Code.CHANGED })).to.equal(undefined);
    expect(registrationLifetimeSec(req(['3', '0']), { code: Code.CHANGED })).to.equal(undefined);
    expect(registrationLifetimeSec(req(['rd'], ['lt=-5']), { code: Code.CREATED })).to.equal(86_400);
  });
});
