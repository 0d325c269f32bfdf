import { expect } from 'chai';
import { formatBootstrappingInfo, parseBootstrappingInfo, xsDateTime } from '../../../../shared/wire/bsf-xml.js';
import { DecodeError } from '../../../../shared/errors.js';
import { loadVector } from '../../../support/vectors.js';

const ex = loadVector<{ response_body_for_rspauth: string }>('ub-digest-example.json');
const BTID = 'I1U8vpY3qJ0hiuZNrke/NQ==@bsf.mnc001.mcc001.pub.3gppnetwork.org';

describe('BootstrappingInfo XML (TS 24.109 Annex C)', () => {
  it('writes exactly the octets of the worked example (rspauth covers them)', () => {
    expect(formatBootstrappingInfo({ btid: BTID, lifetimeMs: Date.parse('2030-01-01T00:00:00Z') })).to.equal(
      ex.response_body_for_rspauth,
    );
  });
  it("parses our own output and other BSFs' variants", () => {
    expect(parseBootstrappingInfo(ex.response_body_for_rspauth)).to.deep.equal({
      btid: BTID,
      lifetimeMs: Date.parse('2030-01-01T00:00:00Z'),
    });
    const other = `<?xml version="1.0"?>\r\n<x:BootstrappingInfo xmlns:x="uri:3gpp-gba" xmlns:y="z">\r\n  <x:btid> ${BTID} </x:btid><x:lifetime>2013-04-22T13:10:25.559Z</x:lifetime><x:extra/></x:BootstrappingInfo>`;
    expect(parseBootstrappingInfo(other)).to.deep.equal({
      btid: BTID,
      lifetimeMs: Date.parse('2013-04-22T13:10:25.559Z'),
    });
  });
  it('xs:dateTime in UTC without fractions', () =>
    expect(xsDateTime(Date.parse('2030-01-01T00:00:00.999Z'))).to.equal('2030-01-01T00:00:00Z'));
  const BAD: Array<[string, string]> = [
    ['', 'empty'],
    ['<BootstrappingInfo><btid>a</btid><lifetime>2030-01-01T00:00:00Z</lifetime></BootstrappingInfo>', 'no namespace'],
    [
      '<BootstrappingInfo xmlns="uri:other"><btid>a</btid><lifetime>2030-01-01T00:00:00Z</lifetime></BootstrappingInfo>',
      'wrong namespace',
    ],
    [
      '<BootstrappingInfo xmlns="uri:3gpp-gba"><lifetime>2030-01-01T00:00:00Z</lifetime></BootstrappingInfo>',
      'no btid',
    ],
    ['<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>a</btid></BootstrappingInfo>', 'no lifetime'],
    [
      '<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>a</btid><lifetime>tomorrow</lifetime></BootstrappingInfo>',
      'bad lifetime',
    ],
    [
      '<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>a</btid><lifetime>2030-01-01T00:00:00</lifetime></BootstrappingInfo>',
      'lifetime without zone',
    ],
    ['<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>a</btid>', 'truncated'],
    [`<BootstrappingInfo xmlns="uri:3gpp-gba"><btid>${'a'.repeat(5000)}</btid></BootstrappingInfo>`, 'oversize'],
  ];
  for (const [xml, why] of BAD)
    it(`rejects ${why}`, () => expect(() => parseBootstrappingInfo(xml)).to.throw(DecodeError));
});
