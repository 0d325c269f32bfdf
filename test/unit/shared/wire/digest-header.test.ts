import { expect } from 'chai';
import {
  parseDigestCredentials,
  parseChallenges,
  parseAuthenticationInfo,
  formatDigest,
  formatParams,
  MAX_HEADER_LENGTH,
} from '../../../../shared/wire/digest-header.js';
import { DecodeError } from '../../../../shared/errors.js';

describe('Digest header syntax (RFC 7235, RFC 7616)', () => {
  it('parses the initial Ub request of TS 24.109 A.3 with empty nonce and response', () => {
    const p = parseDigestCredentials(
      'Digest username="001010123456789@ims.mnc001.mcc001.3gppnetwork.org", realm="bsf.mnc001.mcc001.pub.3gppnetwork.org", nonce="", uri="/", response=""',
    );
    expect(Object.fromEntries(p)).to.deep.equal({
      username: '001010123456789@ims.mnc001.mcc001.3gppnetwork.org',
      realm: 'bsf.mnc001.mcc001.pub.3gppnetwork.org',
      nonce: '',
      uri: '/',
      response: '',
    });
  });

  it('handles tokens, any case of names and scheme, escapes and commas inside quotes', () => {
    const p = parseDigestCredentials(
      'dIgEsT USERNAME="a\\"b\\\\c", Realm="x, y", qop=auth-int,nc=00000001 ,  cnonce = "q"',
    );
    expect(p.get('username')).to.equal('a"b\\c');
    expect(p.get('realm')).to.equal('x, y');
    expect(p.get('qop')).to.equal('auth-int');
    expect(p.get('nc')).to.equal('00000001');
    expect(p.get('cnonce')).to.equal('q');
  });

  it('splits several challenges in one WWW-Authenticate', () => {
    const c = parseChallenges('Digest realm="r", nonce="n=", algorithm=AKAv1-MD5, qop="auth-int", Basic realm="b"');
    expect(c.map((x) => x.scheme)).to.deep.equal(['Digest', 'Basic']);
    expect(c[0]!.params.get('nonce')).to.equal('n=');
    expect(c[1]!.params.get('realm')).to.equal('b');
  });

  it('parses Authentication-Info', () => {
    const p = parseAuthenticationInfo(
      'qop=auth-int, rspauth="a490f667d97f42f1e7d7a825ca7d5980", cnonce="0a4f113b", nc=00000001',
    );
    expect(p.get('rspauth')).to.equal('a490f667d97f42f1e7d7a825ca7d5980');
  });

  it('serialises and parses back, escaping quotes and backslashes', () => {
    const h = formatDigest([
      ['realm', 'r"x\\', true],
      ['nonce', 'abc==', true],
      ['algorithm', 'AKAv1-MD5', false],
      ['qop', 'auth-int', true],
    ]);
    expect(h).to.equal('Digest realm="r\\"x\\\\", nonce="abc==", algorithm=AKAv1-MD5, qop="auth-int"');
    expect(parseChallenges(h)[0]!.params.get('realm')).to.equal('r"x\\');
    expect(() => formatParams([['nc', 'not a token', false]])).to.throw(RangeError);
  });

  const MALFORMED: Array<[string, string]> = [
    ['', 'empty'],
    ['Digest', 'scheme only'],
    ['Digest ', 'scheme and space only'],
    ['Basic YTpi', 'token68 credentials'],
    ['Digest username', 'name without value'],
    ['Digest username=', 'empty token value'],
    ['Digest a="x', 'unterminated quote'],
    ['Digest a="x\\', 'backslash at end'],
    ['Digest a=1, a=2', 'duplicate'],
    ['Digest a=1, A=2', 'duplicate in another case'],
    ['Digest a=1,', 'trailing comma'],
    ['Digest ,a=1', 'leading comma'],
    ['Digest a=1,,b=2', 'empty list element'],
    ['Digest a=1 b=2', 'missing comma'],
    ['Digest a="x"y', 'junk after quoted string'],
    ['Digest a=x"y"', 'quote inside token'],
    ['Digest a="\u0001"', 'control character in quoted string'],
    ['Digest\ta=1', 'tab instead of SP after scheme'],
    ['Digest =1', 'missing name'],
    ['Digest a==1', 'double equals'],
    ['Digest a=1;b=2', 'semicolon separator'],
    ['Digest a=(1)', 'separator characters in token'],
    ['Digest a="x" , , b="y"', 'empty element between'],
    [`Digest a="${'x'.repeat(MAX_HEADER_LENGTH)}"`, 'oversize'],
    [`Digest ${Array.from({ length: 40 }, (_, i) => `p${i}=1`).join(', ')}`, 'too many parameters'],
    ['Digest username="a", realm="b", nonce="c", uri="/", response="d", username="e"', 'duplicate username'],
    ['Digest a=1\r\nX: y', 'CRLF injection'],
    ['Digest a="é\u0100"', 'character beyond Latin-1 in quoted string'],
    ['Dig@st a=1', 'invalid scheme token'],
    ['Digest a=1 ,', 'trailing comma after space'],
  ];
  for (const [header, why] of MALFORMED) {
    it(`rejects ${why} with a DecodeError`, () => {
      expect(() => parseDigestCredentials(header)).to.throw(DecodeError);
    });
  }

  it('rejects a non-Digest scheme in Authorization', () => {
    expect(() => parseDigestCredentials('Bearer a=1')).to.throw(DecodeError, /not Digest/);
  });
});
