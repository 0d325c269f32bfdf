/**
 * What the hostile-input campaign (test/hostile/) found in the LwM2M server, each pinned:
 * - a Register with a link-format payload that does not parse was refused with a diagnostic quoting it (2.7 KB and
 *   more), larger than the client's Max-Message-Size (RFC 8323 §5.3.1), so the CoAP over TCP connection answered 5.00;
 * - a DTLS request whose Uri-Path is not UTF-8 was answered 4.00 by the handler, and then the lifetime bookkeeping
 *   of the DTLS listener threw on the same path, turning it into 5.00.
 */
import { expect } from 'chai';
import { Code, message, OptionNumber } from '../../../shared/coap/message.js';
import { silentLogger } from '../../../shared/log.js';
import type { Lwm2mPeer } from '../../../lwm2m/peer.js';
import { MAX_DIAGNOSTIC_BYTES, RegistrationHandler } from '../../../lwm2m/registration-handler.js';
import { ClientRegistry } from '../../../lwm2m/registry.js';
import { registrationLifetimeSec } from '../../../lwm2m/coap-dtls-listener.js';

const BTID = 'I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';
const peer: Lwm2mPeer = {
  id: 'p1',
  transport: 'tcp',
  address: '127.0.0.1:40000',
  closed: false,
  security: {
    pskIdentity: `3GPP-bootstrapping.${BTID}`,
    endpoint: 'urn:uuid:aaaa',
    btid: BTID,
    impi: 'x@ims',
    expiresAtMs: Date.now() + 3600_000,
    uaSecProtId: '010001c0a8',
  },
  request: () => Promise.reject(new Error('unused')),
  close: () => undefined,
};

describe('LwM2M server: inputs the hostile campaign found', () => {
  it('a diagnostic payload is at most 128 octets, whatever the client sent (RFC 7252 §5.5.2)', () => {
    const handler = new RegistrationHandler({ registry: new ClientRegistry(), log: silentLogger, now: Date.now });
    for (const [ep, links] of [
      ['urn:uuid:aaaa', `</${'9/'.repeat(3000)}>`],
      ['urn:uuid:aaaa', `</${'é/'.repeat(3000)}`],
      ['x'.repeat(5000), '</1/0>'],
    ]) {
      const res = handler.handle(
        peer,
        message({
          code: Code.POST,
          payload: Buffer.from(links!),
          options: [
            { number: OptionNumber.URI_PATH, value: Buffer.from('rd') },
            { number: OptionNumber.URI_QUERY, value: Buffer.from(`ep=${ep}`) },
            { number: OptionNumber.URI_QUERY, value: Buffer.from('lt=60') },
          ],
        }),
      );
      expect(res.code >> 5, 'a 4.xx').to.equal(4);
      expect(res.payload!.length).to.be.at.most(MAX_DIAGNOSTIC_BYTES);
      expect(() => new TextDecoder('utf-8', { fatal: true }).decode(res.payload)).to.not.throw();
    }
  });

  it('a Uri-Path that is not UTF-8 gives no lifetime and does not throw', () => {
    const req = message({
      code: Code.POST,
      options: [{ number: OptionNumber.URI_PATH, value: Buffer.from([0xff, 0xfe]) }],
    });
    expect(registrationLifetimeSec(req, { code: Code.BAD_REQUEST })).to.equal(undefined);
    const handler = new RegistrationHandler({ registry: new ClientRegistry(), log: silentLogger, now: Date.now });
    expect(handler.handle(peer, req).code).to.equal(Code.BAD_REQUEST);
  });
});
