import { expect } from 'chai';
import { parseUsimSpec } from '../../../../device/usim/open.js';
import { answerVpcd, VpcdFramer, vpcdFrame } from '../../../../device/usim/vpcd.js';
import { SoftCard, SOFT_CARD_ATR } from '../../../../device/usim/soft-card.js';

describe('device/usim --usim specs and the vpcd card protocol', () => {
  it('parses soft, pcsc, pcsc:READER and at:DEVICE[@BAUD]; refuses the rest with a reason', () => {
    expect(parseUsimSpec('soft')).to.deep.equal({ kind: 'soft' });
    expect(parseUsimSpec('pcsc')).to.deep.equal({ kind: 'pcsc' });
    expect(parseUsimSpec('pcsc:Test vUSIM 00 01')).to.deep.equal({ kind: 'pcsc', reader: 'Test vUSIM 00 01' });
    expect(parseUsimSpec('at:/dev/ttyUSB2')).to.deep.equal({ kind: 'at', device: '/dev/ttyUSB2', baud: 115200 });
    expect(parseUsimSpec('at:/dev/ttyACM0@921600')).to.deep.equal({ kind: 'at', device: '/dev/ttyACM0', baud: 921600 });
    expect(parseUsimSpec('pcsc:')).to.match(/reader name is empty/);
    expect(parseUsimSpec('at:/dev/x@12')).to.match(/baud rate/);
    expect(parseUsimSpec('sim')).to.match(/must be soft, pcsc/);
  });

  it('frames by 2-byte big-endian length across chunk boundaries', () => {
    const f = new VpcdFramer();
    const stream = Buffer.concat([vpcdFrame(Buffer.from([4])), vpcdFrame(Buffer.from('00a40004023f00', 'hex'))]);
    expect(f.push(stream.subarray(0, 4))).to.deep.equal([Buffer.from([4])]);
    expect(f.push(stream.subarray(4))).to.deep.equal([Buffer.from('00a40004023f00', 'hex')]);
  });

  it('answers control frames (ATR on 4; power and reset answer nothing) and APDUs', () => {
    const card = new SoftCard({
      imsi: '001010000000001',
      mncLength: 2,
      usim: { algorithm: 'milenage', k: Buffer.alloc(16, 1), opc: Buffer.alloc(16, 2) },
    });
    const events: string[] = [];
    expect(answerVpcd(card, Buffer.from([4]))).to.deep.equal(SOFT_CARD_ATR);
    expect(answerVpcd(card, Buffer.from([1]), (e) => events.push(e))).to.equal(undefined);
    expect(answerVpcd(card, Buffer.from([2]), (e) => events.push(e))).to.equal(undefined);
    expect(events).to.deep.equal(['power on', 'reset']);
    expect(answerVpcd(card, Buffer.from('00a40004022f00', 'hex'))!.readUInt8(0)).to.equal(0x61);
  });
});
