import { expect } from 'chai';
import {
  nextNetworkSqn,
  resyncNetworkSqn,
  UsimSqnState,
  makeSqn,
  seqOf,
  indOf,
  sqnToBytes,
  sqnFromBytes,
  SQN_MAX,
} from '../../../../shared/crypto/sqn.js';

describe('SQN management (TS 33.102 Annex C)', () => {
  it('network side: SEQ + 1 and the next IND each time, IND wrapping at 2^5', () => {
    let sqn = 0;
    const seen: Array<[number, number]> = [];
    for (let i = 0; i < 34; i++) {
      sqn = nextNetworkSqn(sqn);
      seen.push([seqOf(sqn), indOf(sqn)]);
    }
    expect(seen.slice(0, 3)).to.deep.equal([
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    expect(seen[30]).to.deep.equal([31, 31]);
    expect(seen[31]).to.deep.equal([32, 0]);
    expect(seen[32]).to.deep.equal([33, 1]);
    // strictly increasing
    const values = seen.map(([s, i]) => makeSqn(s, i));
    expect(values.every((v, i) => i === 0 || v > values[i - 1]!)).to.equal(true);
  });

  it('USIM side accepts out-of-order SQNs in different IND slots and refuses reuse within a slot', () => {
    const usim = new UsimSqnState();
    let sqn = 0;
    const issued: number[] = [];
    for (let i = 0; i < 40; i++) {
      sqn = nextNetworkSqn(sqn);
      issued.push(sqn);
    }
    // deliver the first 32 in reverse order: all in distinct IND slots → all fresh
    for (const s of issued.slice(0, 32).reverse()) {
      expect(usim.isFresh(s), `sqn ${s}`).to.equal(true);
      usim.accept(s);
    }
    for (const s of issued.slice(0, 32)) expect(usim.isFresh(s)).to.equal(false);
    expect(usim.highestAccepted()).to.equal(issued[31]);
  });

  it('USIM side refuses a SEQ more than Δ ahead', () => {
    const usim = new UsimSqnState(0, 5, 1000);
    expect(usim.isFresh(makeSqn(1000, 0))).to.equal(true);
    expect(usim.isFresh(makeSqn(1001, 0))).to.equal(false);
  });

  it('resync keeps SQN_HE when the USIM would accept the next one, else adopts SQN_MS', () => {
    expect(resyncNetworkSqn(makeSqn(10, 3), makeSqn(5, 1))).to.equal(makeSqn(10, 3)); // HE ahead: keep (strictly increasing)
    expect(resyncNetworkSqn(makeSqn(10, 3), makeSqn(50, 7))).to.equal(makeSqn(50, 7)); // USIM ahead: adopt
    expect(resyncNetworkSqn(makeSqn(2 ** 40, 0), 0)).to.equal(0); // HE beyond Δ: adopt
    const usim = new UsimSqnState(makeSqn(50, 7));
    expect(usim.isFresh(nextNetworkSqn(resyncNetworkSqn(makeSqn(10, 3), makeSqn(50, 7))))).to.equal(true);
  });

  it('48-bit encoding', () => {
    expect(sqnToBytes(0xff9bb4d0b607).toString('hex')).to.equal('ff9bb4d0b607');
    expect(sqnFromBytes(Buffer.from('ff9bb4d0b607', 'hex'))).to.equal(0xff9bb4d0b607);
    expect(() => sqnToBytes(SQN_MAX + 1)).to.throw(RangeError);
    expect(() => nextNetworkSqn(SQN_MAX)).to.throw(RangeError);
  });
});
