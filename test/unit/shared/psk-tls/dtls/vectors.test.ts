/**
 * Every value of the worked DTLS 1.2 PSK example (docs/standards-notes/lwm2m-coap-dtls.md §5.1–§5.5) and the OpenSSL capture (§5.7), checked against
 * shared/psk-tls/dtls: cookie, handshake messages as hashed, PRF / master secret / EMS / key block / Finished, and the
 * AES-128-CCM_8 and GCM records.
 */
import { expect } from 'chai';
import {
  createRecordCipher,
  additionalData,
  aeadNonce,
  explicitNonce,
} from '../../../../../shared/psk-tls/dtls/cipher.js';
import { ContentType, DTLS_1_2, HVR_VERSION, HandshakeType } from '../../../../../shared/psk-tls/dtls/constants.js';
import { CookieJar, cookieInput } from '../../../../../shared/psk-tls/dtls/cookie.js';
import { ext } from '../../../../../shared/psk-tls/dtls/extensions.js';
import { decodeHandshakeFragments, encodeHandshake } from '../../../../../shared/psk-tls/dtls/handshake.js';
import {
  decodeClientHello,
  decodeClientKeyExchange,
  decodeFinished,
  encodeHelloVerifyRequest,
  encodeServerHello,
  encodeServerKeyExchange,
} from '../../../../../shared/psk-tls/dtls/messages.js';
import {
  extendedMasterSecret,
  keyBlock,
  masterSecret,
  pskPremasterSecret,
  transcriptHash,
  verifyData,
} from '../../../../../shared/psk-tls/dtls/prf.js';
import { encodeRecord, parseDatagram } from '../../../../../shared/psk-tls/dtls/record.js';
import {
  TLS_PSK_WITH_AES_128_CCM_8,
  TLS_PSK_WITH_AES_128_GCM_SHA256,
  keyBlockLength,
  splitKeyBlock,
  suiteInfo,
} from '../../../../../shared/psk-tls/dtls/suites.js';
import { hex, loadVector } from '../../../../support/vectors.js';

interface RecordVector {
  nonce?: string;
  aad?: string;
  plaintext?: string;
  record: string;
}
interface WorkedExample {
  inputs: Record<string, string | number> & { client_port: number; client_address: string };
  cookie_input: string;
  cookie: string;
  messages: Record<'ch1' | 'hvr' | 'ch2' | 'sh' | 'ske' | 'shd' | 'cke', string>;
  key_schedule: Record<string, string>;
  records_ccm8: Record<
    'client_finished' | 'server_finished' | 'register' | 'register_answer' | 'client_close_notify',
    RecordVector
  >;
  register_gcm_fragment: string;
  openssl_capture: Record<string, string>;
}

const v = loadVector<WorkedExample>('dtls12-psk-worked-example.json');
const input = (k: string): Buffer => hex(String(v.inputs[k]));
const ks = (k: string): Buffer => hex(v.key_schedule[k]!);
const msg = (k: keyof WorkedExample['messages']): Buffer => hex(v.messages[k]);
const body = (full: Buffer): Buffer => decodeHandshakeFragments(full)[0]!.body;
const peer = { address: v.inputs.client_address, port: v.inputs.client_port };
const ccm8 = suiteInfo(TLS_PSK_WITH_AES_128_CCM_8)!;

/** The §5.3 key schedule, recomputed from inputs with shared/psk-tls/dtls/prf.ts. */
function schedule() {
  const pms = pskPremasterSecret(input('psk'));
  const transcript = [msg('ch2'), msg('sh'), msg('ske'), msg('shd'), msg('cke')];
  const sessionHash = transcriptHash(transcript);
  const master = extendedMasterSecret(pms, sessionHash);
  const block = keyBlock(master, input('server_random'), input('client_random'), keyBlockLength(ccm8));
  return { pms, transcript, sessionHash, master, block, keys: splitKeyBlock(ccm8, block) };
}

describe('dtls worked example (docs/standards-notes/lwm2m-coap-dtls.md §5)', () => {
  describe('§5.2 cookie and handshake messages', () => {
    const ch1 = decodeClientHello(body(msg('ch1')));

    it('decodes ClientHello#1: version, random, suites with SCSV, null compression, EMS only', () => {
      expect(ch1.clientVersion).to.equal(DTLS_1_2);
      expect(ch1.random).to.deep.equal(input('client_random'));
      expect(ch1.sessionId.length).to.equal(0);
      expect(ch1.cookie.length).to.equal(0);
      expect(ch1.cipherSuites).to.deep.equal([0xc0a8, 0xc0a4, 0x00a8, 0x00ae, 0x00ff]);
      expect([...ch1.compressionMethods]).to.deep.equal([0]);
      expect(ch1.extensions).to.deep.equal([{ type: 23, data: Buffer.alloc(0) }]);
    });

    it('builds the cookie input and the HMAC cookie', () => {
      expect(cookieInput(peer, ch1).toString('hex')).to.equal(v.cookie_input);
      const jar = new CookieJar({ secret: input('cookie_secret') });
      expect(jar.make(peer, ch1).toString('hex')).to.equal(v.cookie);
    });

    it('encodes the HelloVerifyRequest (FE FF, message_seq 0)', () => {
      const hvr = encodeHandshake(
        HandshakeType.helloVerifyRequest,
        0,
        encodeHelloVerifyRequest({ serverVersion: HVR_VERSION, cookie: hex(v.cookie) }),
      );
      expect(hvr.toString('hex')).to.equal(v.messages.hvr);
    });

    it('accepts ClientHello#2 carrying that cookie; same fields as ClientHello#1', () => {
      const ch2 = decodeClientHello(body(msg('ch2')));
      expect(ch2.cookie.toString('hex')).to.equal(v.cookie);
      expect(ch2.random).to.deep.equal(ch1.random);
      expect(new CookieJar({ secret: input('cookie_secret') }).verify(peer, ch2)).to.equal(true);
      expect(decodeHandshakeFragments(msg('ch2'))[0]!.messageSeq).to.equal(1);
    });

    it('encodes ServerHello (renegotiation_info then EMS), ServerKeyExchange with the hint, ServerHelloDone', () => {
      const sh = encodeServerHello({
        serverVersion: DTLS_1_2,
        random: input('server_random'),
        sessionId: Buffer.alloc(0),
        cipherSuite: 0xc0a8,
        compressionMethod: 0,
        extensions: [ext.renegotiationInfoEmpty(), ext.extendedMasterSecret()],
      });
      expect(encodeHandshake(HandshakeType.serverHello, 1, sh).toString('hex')).to.equal(v.messages.sh);
      const ske = encodeServerKeyExchange(Buffer.from(String(v.inputs.hint)));
      expect(encodeHandshake(HandshakeType.serverKeyExchange, 2, ske).toString('hex')).to.equal(v.messages.ske);
      expect(encodeHandshake(HandshakeType.serverHelloDone, 3, Buffer.alloc(0)).toString('hex')).to.equal(
        v.messages.shd,
      );
    });

    it('decodes the ClientKeyExchange identity (81 octets)', () => {
      const id = decodeClientKeyExchange(body(msg('cke')));
      expect(id.toString('utf8')).to.equal(v.inputs.identity);
      expect(id.length).to.equal(81);
    });
  });

  describe('§5.3 key schedule', () => {
    const s = schedule();
    it('premaster secret (RFC 4279 §2)', () => expect(s.pms.toString('hex')).to.equal(v.key_schedule.premaster));
    it('classic master secret (RFC 5246 §8.1)', () => {
      expect(masterSecret(s.pms, input('client_random'), input('server_random')).toString('hex')).to.equal(
        v.key_schedule.master_classic,
      );
    });
    it('session hash over CH2‖SH‖SKE‖SHD‖CKE', () =>
      expect(s.sessionHash.toString('hex')).to.equal(v.key_schedule.session_hash));
    it('extended master secret (RFC 7627 §4)', () =>
      expect(s.master.toString('hex')).to.equal(v.key_schedule.master_ems));
    it('key block and its split', () => {
      expect(s.block.toString('hex')).to.equal(v.key_schedule.key_block);
      expect(s.keys.client.key.toString('hex')).to.equal(v.key_schedule.client_write_key);
      expect(s.keys.server.key.toString('hex')).to.equal(v.key_schedule.server_write_key);
      expect(s.keys.client.iv.toString('hex')).to.equal(v.key_schedule.client_write_iv);
      expect(s.keys.server.iv.toString('hex')).to.equal(v.key_schedule.server_write_iv);
      expect(s.keys.client.macKey.length).to.equal(0);
    });
    it('client and server verify_data and the Finished messages', () => {
      const client = verifyData(s.master, 'client', transcriptHash(s.transcript));
      expect(client.toString('hex')).to.equal(v.key_schedule.client_verify_data);
      const clientFin = encodeHandshake(HandshakeType.finished, 3, client);
      expect(clientFin.toString('hex')).to.equal(v.key_schedule.client_finished);
      const server = verifyData(s.master, 'server', transcriptHash([...s.transcript, clientFin]));
      expect(server.toString('hex')).to.equal(v.key_schedule.server_verify_data);
      expect(encodeHandshake(HandshakeType.finished, 4, server).toString('hex')).to.equal(
        v.key_schedule.server_finished,
      );
      expect(decodeFinished(body(ks('server_finished')))).to.deep.equal(server);
    });
  });

  describe('§5.4–5.5 protected records (AES-128-CCM_8)', () => {
    const { keys } = schedule();
    const cases: {
      name: keyof WorkedExample['records_ccm8'];
      side: 'client' | 'server';
      type: number;
      plaintext: () => Buffer;
      seq: number;
    }[] = [
      {
        name: 'client_finished',
        side: 'client',
        type: ContentType.handshake,
        plaintext: () => ks('client_finished'),
        seq: 0,
      },
      {
        name: 'server_finished',
        side: 'server',
        type: ContentType.handshake,
        plaintext: () => ks('server_finished'),
        seq: 0,
      },
      {
        name: 'register',
        side: 'client',
        type: ContentType.applicationData,
        plaintext: () => hex(v.records_ccm8.register.plaintext!),
        seq: 1,
      },
      {
        name: 'register_answer',
        side: 'server',
        type: ContentType.applicationData,
        plaintext: () => hex(v.records_ccm8.register_answer.plaintext!),
        seq: 1,
      },
      { name: 'client_close_notify', side: 'client', type: ContentType.alert, plaintext: () => hex('0100'), seq: 2 },
    ];
    for (const c of cases) {
      const vec = v.records_ccm8[c.name];
      it(`${c.name}: nonce, AAD, sealed record, and opening it`, () => {
        const k = keys[c.side];
        const ctx = { type: c.type, version: DTLS_1_2, epoch: 1, seq: c.seq };
        const pt = c.plaintext();
        if (vec.nonce) expect(aeadNonce(k.iv, explicitNonce(1, c.seq)).toString('hex')).to.equal(vec.nonce);
        if (vec.aad) expect(additionalData(ctx, pt.length).toString('hex')).to.equal(vec.aad);
        const cipher = createRecordCipher(ccm8, k);
        const record = encodeRecord({ ...ctx, fragment: cipher.seal(ctx, pt) });
        expect(record.toString('hex')).to.equal(vec.record);
        const parsed = parseDatagram(hex(vec.record)).records[0]!;
        expect(cipher.open(ctx, parsed.fragment)).to.deep.equal(pt);
      });
    }

    it('rejects a record with one flipped tag bit', () => {
      const rec = hex(v.records_ccm8.register.record);
      rec[rec.length - 1]! ^= 1;
      const parsed = parseDatagram(rec).records[0]!;
      const cipher = createRecordCipher(ccm8, keys.client);
      expect(() => cipher.open({ type: 23, version: DTLS_1_2, epoch: 1, seq: 1 }, parsed.fragment)).to.throw(
        'did not authenticate',
      );
    });

    it('the Register under TLS_PSK_WITH_AES_128_GCM_SHA256 (same key block layout)', () => {
      const gcm = suiteInfo(TLS_PSK_WITH_AES_128_GCM_SHA256)!;
      const cipher = createRecordCipher(gcm, keys.client);
      const ctx = { type: ContentType.applicationData, version: DTLS_1_2, epoch: 1, seq: 1 };
      const pt = hex(v.records_ccm8.register.plaintext!);
      expect(cipher.seal(ctx, pt).toString('hex')).to.equal(v.register_gcm_fragment);
      expect(cipher.open(ctx, hex(v.register_gcm_fragment))).to.deep.equal(pt);
    });
  });

  describe('§5.7 real OpenSSL handshake', () => {
    const c = v.openssl_capture;
    const pms = pskPremasterSecret(input('psk'));
    const master = extendedMasterSecret(pms, hex(c.session_hash!));
    const keys = splitKeyBlock(ccm8, keyBlock(master, hex(c.server_random!), hex(c.client_random!), 40));

    it('reproduces the keylog master secret from the session hash', () => {
      expect(master.toString('hex')).to.equal(c.master);
    });
    it('derives the same write keys and IVs', () => {
      expect(keys.client.key.toString('hex')).to.equal(c.client_write_key);
      expect(keys.client.iv.toString('hex')).to.equal(c.client_write_iv);
      expect(keys.server.key.toString('hex')).to.equal(c.server_write_key);
      expect(keys.server.iv.toString('hex')).to.equal(c.server_write_iv);
    });
    it("opens OpenSSL's client Finished and application data records", () => {
      const cipher = createRecordCipher(ccm8, keys.client);
      for (const [rec, pt] of [
        [c.client_finished_record!, c.client_finished_plaintext!],
        [c.app_data_record!, c.app_data_plaintext!],
      ] as const) {
        const r = parseDatagram(hex(rec)).records[0]!;
        expect(
          cipher.open({ type: r.type, version: r.version, epoch: r.epoch, seq: r.seq }, r.fragment).toString('hex'),
        ).to.equal(pt);
      }
      expect(Buffer.from(c.app_data_plaintext!, 'hex').toString()).to.equal('hello-coap\n');
    });
    it("decodes OpenSSL's ServerHello extensions (reneg, session_ticket, EMS)", () => {
      const sh = body(hex(c.server_hello!));
      const enc = encodeServerHello({
        serverVersion: DTLS_1_2,
        random: hex(c.server_random!),
        sessionId: Buffer.alloc(0),
        cipherSuite: 0xc0a8,
        compressionMethod: 0,
        extensions: [ext.renegotiationInfoEmpty(), { type: 35, data: Buffer.alloc(0) }, ext.extendedMasterSecret()],
      });
      expect(enc).to.deep.equal(sh);
    });
  });
});
