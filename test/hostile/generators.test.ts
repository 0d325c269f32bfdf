/** The hostile-input generators are pure: a seed gives the same input every time, and seeds differ. */
import { expect } from 'chai';
import { pskBody, ubAuthorization, ubInput, znBody } from './gen-http.js';
import { coapTcpFrame, coapUdpMessage, diameterFrame, dtlsDatagram, encodeOptions } from './gen-wire.js';
import { inputSeed } from './campaign.js';

describe('hostile-input generators', () => {
  const base = Buffer.concat([Buffer.from('16fefd0000000000000000005c010000', 'hex'), Buffer.alloc(92, 7)]);
  const gens: Array<[string, (s: number) => string | Buffer]> = [
    ['ubAuthorization', ubAuthorization],
    ['ubInput', (s) => JSON.stringify(ubInput(s))],
    ['znBody', znBody],
    ['pskBody', pskBody],
    ['coapTcpFrame', coapTcpFrame],
    ['coapUdpMessage', coapUdpMessage],
    ['diameterFrame', diameterFrame],
    ['dtlsDatagram', (s) => dtlsDatagram(s, base)],
  ];
  for (const [name, g] of gens) {
    it(`${name}: seed → the same input; 200 seeds → many different ones (> 50)`, () => {
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const s = inputSeed(7, i);
        const a = g(s),
          b = g(s);
        expect(Buffer.from(a).equals(Buffer.from(b)), `${name} seed ${s}`).to.equal(true);
        seen.add(Buffer.from(a).toString('hex'));
      }
      expect(seen.size).to.be.greaterThan(50);
    });
  }

  it('encodes CoAP options with the RFC 7252 §3.1 extended delta and length', () => {
    expect(encodeOptions([[11, Buffer.from('rd')]]).toString('hex')).to.equal('b27264');
    expect(encodeOptions([[300, Buffer.alloc(0)]]).toString('hex')).to.equal('e0001f');
    expect(
      encodeOptions([[1, Buffer.alloc(20)]])
        .subarray(0, 2)
        .toString('hex'),
    ).to.equal('1d07');
  });
});
