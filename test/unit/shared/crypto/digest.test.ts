import { expect } from 'chai';
import {
  akaPassword,
  computeDigest,
  ha1,
  ha2,
  digestResponse,
  computeRspauth,
  MD5_EMPTY,
} from '../../../../shared/crypto/digest.js';
import { loadVector, hex } from '../../../support/vectors.js';

interface UbExample {
  impi: string;
  realm: string;
  method: string;
  uri: string;
  nonce: string;
  nc: string;
  cnonce: string;
  res: string;
  response_auth_int: string;
  response_auth: string;
  response_body_for_rspauth: string;
  rspauth_auth_int: string;
  resync: { response_empty_password_auth_int: string };
  akav2: { password: string; response_auth_int: string };
}
const ex = loadVector<UbExample>('ub-digest-example.json');
const CK = hex('b40ba9a3c58b2a05bbf0d987b21bf8cb');
const IK = hex('f769bcd751044604127672711c6d3441');

describe('HTTP Digest AKA (RFC 3310, RFC 4169) — the worked Ub example', () => {
  const base = {
    username: ex.impi,
    realm: ex.realm,
    nonce: ex.nonce,
    nc: ex.nc,
    cnonce: ex.cnonce,
    method: ex.method,
    uri: ex.uri,
  };

  it('AKAv1-MD5, qop=auth-int: HA1, HA2, response and rspauth', () => {
    const d = computeDigest(
      { ...base, qop: 'auth-int', password: akaPassword('AKAv1-MD5', hex(ex.res)) },
      ex.response_body_for_rspauth,
    );
    expect(d.ha1).to.equal('18125006e2e00ff42c55d3caf6cff47a');
    expect(d.ha2).to.equal('15df3e1aa09254633226c3d41891b148');
    expect(d.response).to.equal(ex.response_auth_int);
    expect(d.rspauth).to.equal(ex.rspauth_auth_int);
  });

  it('AKAv1-MD5, qop=auth', () => {
    const d = computeDigest({ ...base, qop: 'auth', password: hex(ex.res) });
    expect(d.response).to.equal(ex.response_auth);
  });

  it('resynchronisation: empty password (RFC 3310 §3.4)', () => {
    const d = computeDigest({ ...base, qop: 'auth-int', password: akaPassword('AKAv1-MD5', undefined) });
    expect(d.response).to.equal(ex.resync.response_empty_password_auth_int);
  });

  it('AKAv2-MD5 password = base64(HMAC-MD5(RES‖IK‖CK, "http-digest-akav2-password"))', () => {
    const pw = akaPassword('AKAv2-MD5', hex(ex.res), CK, IK);
    expect(pw.toString('ascii')).to.equal(ex.akav2.password);
    const d = computeDigest({ ...base, qop: 'auth-int', password: pw });
    expect(d.ha1).to.equal('4292f6dd6ac59dafaac7c37edf165aac');
    expect(d.response).to.equal(ex.akav2.response_auth_int);
  });

  it('RFC 2617 §3.5 example (MD5, qop=auth): "Mufasa"', () => {
    const h1 = ha1('Mufasa', 'testrealm@host.com', 'Circle Of Life');
    const r = digestResponse({
      ha1: h1,
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      nc: '00000001',
      cnonce: '0a4f113b',
      qop: 'auth',
      ha2: ha2('GET', '/dir/index.html', 'auth'),
    });
    expect(r).to.equal('6629fae49393a05397450978507c4ef1');
  });

  it('rspauth changes with one byte of the body', () => {
    const h1 = ha1(ex.impi, ex.realm, hex(ex.res));
    const i = { nonce: ex.nonce, nc: ex.nc, cnonce: ex.cnonce, qop: 'auth-int' as const, uri: '/' };
    expect(computeRspauth(h1, i, ex.response_body_for_rspauth)).to.equal(ex.rspauth_auth_int);
    expect(computeRspauth(h1, i, ex.response_body_for_rspauth.replace('2030', '2031'))).to.not.equal(
      ex.rspauth_auth_int,
    );
    expect(MD5_EMPTY).to.equal('d41d8cd98f00b204e9800998ecf8427e');
  });
});
