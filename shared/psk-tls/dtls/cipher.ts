/**
 * Record protection for epoch ≥ 1.
 * - AEAD (CCM_8, GCM): RFC 5246 §6.2.3.3 with the nonce of RFC 6655 §3 / RFC 5288 §3: salt(4) ‖ explicit(8),
 *   explicit = epoch ‖ seq, sent in front of the ciphertext.
 * - CBC + HMAC-SHA256: RFC 5246 §6.2.3.2, MAC-then-encrypt with a random explicit IV.
 * The additional data uses the DTLS sequence number epoch ‖ seq (RFC 6347 §4.1.2.1), or the RFC 9146 §5 layout
 * for tls12_cid records.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DecodeError } from '../../errors.js';
import { ContentType } from './constants.js';
import type { DirectionKeys, SuiteInfo } from './suites.js';
import { u16, u48, u8 } from '../wire.js';

/** The record fields that are authenticated. For tls12_cid records `type` is 25 and `cid` is set. */
export interface ProtectionContext {
  type: number;
  version: number;
  epoch: number;
  seq: number;
  cid?: Buffer;
}

const SEQ_NUM_PLACEHOLDER = Buffer.alloc(8, 0xff);

/**
 * Without CID: epoch ‖ seq ‖ type ‖ version ‖ length (RFC 5246 §6.2.3.3, RFC 6347 §4.1.2.1).
 * With CID (RFC 9146 §5): seq_num_placeholder ‖ tls12_cid ‖ cid_length ‖ tls12_cid ‖ version ‖ epoch ‖ seq ‖ cid ‖ length.
 */
export function additionalData(ctx: ProtectionContext, plaintextLength: number): Buffer {
  if (ctx.cid) {
    return Buffer.concat([
      SEQ_NUM_PLACEHOLDER,
      u8(ContentType.tls12Cid),
      u8(ctx.cid.length),
      u8(ContentType.tls12Cid),
      u16(ctx.version),
      u16(ctx.epoch),
      u48(ctx.seq),
      ctx.cid,
      u16(plaintextLength),
    ]);
  }
  return Buffer.concat([u16(ctx.epoch), u48(ctx.seq), u8(ctx.type), u16(ctx.version), u16(plaintextLength)]);
}

/** RFC 6655 §3 / RFC 5288 §3: salt (4, from the key block) ‖ explicit nonce (8) = epoch ‖ seq. */
export const explicitNonce = (epoch: number, seq: number): Buffer => Buffer.concat([u16(epoch), u48(seq)]);
export const aeadNonce = (salt: Buffer, explicit: Buffer): Buffer => Buffer.concat([salt, explicit]);

export interface RecordCipher {
  /** Returns the record fragment (explicit nonce/IV ‖ ciphertext ‖ tag). */
  seal(ctx: ProtectionContext, plaintext: Buffer): Buffer;
  /** Returns the plaintext or throws DecodeError when the record does not authenticate. */
  open(ctx: ProtectionContext, fragment: Buffer): Buffer;
  /** Worst-case expansion, for fragment budgets. */
  readonly maxOverhead: number;
}

const authFailure = (): DecodeError => new DecodeError('DTLS record protection', 'record did not authenticate');

export function createRecordCipher(suite: SuiteInfo, keys: DirectionKeys): RecordCipher {
  return suite.kind === 'cbc-sha256' ? new CbcSha256Cipher(keys) : new AeadCipher(suite.kind, keys);
}

class AeadCipher implements RecordCipher {
  private readonly tagLength: 8 | 16;
  private readonly algorithm: 'aes-128-ccm' | 'aes-128-gcm';
  readonly maxOverhead: number;

  constructor(
    kind: 'ccm8' | 'gcm',
    private readonly keys: DirectionKeys,
  ) {
    this.tagLength = kind === 'ccm8' ? 8 : 16;
    this.algorithm = kind === 'ccm8' ? 'aes-128-ccm' : 'aes-128-gcm';
    this.maxOverhead = 8 + this.tagLength;
  }

  seal(ctx: ProtectionContext, plaintext: Buffer): Buffer {
    const explicit = explicitNonce(ctx.epoch, ctx.seq);
    const nonce = aeadNonce(this.keys.iv, explicit);
    const c = createCipheriv(this.algorithm as 'aes-128-ccm', this.keys.key, nonce, { authTagLength: this.tagLength });
    c.setAAD(additionalData(ctx, plaintext.length), { plaintextLength: plaintext.length });
    const ct = Buffer.concat([c.update(plaintext), c.final()]);
    return Buffer.concat([explicit, ct, c.getAuthTag()]);
  }

  open(ctx: ProtectionContext, fragment: Buffer): Buffer {
    if (fragment.length < 8 + this.tagLength) throw authFailure();
    // The explicit nonce is taken from the fragment, not rebuilt from the header (docs/standards-notes/lwm2m-coap-dtls.md §4.10).
    const nonce = aeadNonce(this.keys.iv, fragment.subarray(0, 8));
    const ct = fragment.subarray(8, fragment.length - this.tagLength);
    const tag = fragment.subarray(fragment.length - this.tagLength);
    try {
      const d = createDecipheriv(this.algorithm as 'aes-128-ccm', this.keys.key, nonce, {
        authTagLength: this.tagLength,
      });
      d.setAuthTag(tag);
      d.setAAD(additionalData(ctx, ct.length), { plaintextLength: ct.length });
      return Buffer.concat([d.update(ct), d.final()]);
    } catch {
      throw authFailure();
    }
  }
}

const BLOCK = 16;
const MAC_LENGTH = 32;

class CbcSha256Cipher implements RecordCipher {
  readonly maxOverhead = BLOCK + MAC_LENGTH + BLOCK;

  constructor(private readonly keys: DirectionKeys) {}

  private mac(ctx: ProtectionContext, plaintext: Buffer): Buffer {
    return createHmac('sha256', this.keys.macKey)
      .update(additionalData(ctx, plaintext.length))
      .update(plaintext)
      .digest();
  }

  seal(ctx: ProtectionContext, plaintext: Buffer): Buffer {
    const data = Buffer.concat([plaintext, this.mac(ctx, plaintext)]);
    const padLength = (BLOCK - ((data.length + 1) % BLOCK)) % BLOCK; // RFC 5246 §6.2.3.2: padding_length + 1 octets
    const iv = randomBytes(BLOCK);
    const c = createCipheriv('aes-128-cbc', this.keys.key, iv).setAutoPadding(false);
    const padded = Buffer.concat([data, Buffer.alloc(padLength + 1, padLength)]);
    return Buffer.concat([iv, c.update(padded), c.final()]);
  }

  open(ctx: ProtectionContext, fragment: Buffer): Buffer {
    const ctLength = fragment.length - BLOCK;
    if (ctLength < MAC_LENGTH + 1 || ctLength % BLOCK !== 0) throw authFailure();
    const d = createDecipheriv('aes-128-cbc', this.keys.key, fragment.subarray(0, BLOCK)).setAutoPadding(false);
    const data = Buffer.concat([d.update(fragment.subarray(BLOCK)), d.final()]);
    const { padLength, padOk } = checkPadding(data);
    // On bad padding, go on as if there were none so the MAC is still computed (Lucky13 mitigation, RFC 5246 §6.2.3.2).
    const ptLength = data.length - MAC_LENGTH - (padOk ? padLength + 1 : 0);
    const plaintext = data.subarray(0, ptLength);
    const expected = this.mac(ctx, plaintext);
    const macOk = timingSafeEqual(expected, data.subarray(ptLength, ptLength + MAC_LENGTH));
    if (!(padOk && macOk)) throw authFailure();
    return Buffer.from(plaintext);
  }
}

/**
 * Checks the padding without branching on secret bytes: always scans 256 positions (the largest padding),
 * masking those outside the padding.
 */
function checkPadding(data: Buffer): { padLength: number; padOk: boolean } {
  const padLength = data[data.length - 1]!;
  let bad = padLength + 1 + MAC_LENGTH > data.length ? 1 : 0;
  for (let i = 0; i < 256; i++) {
    const idx = data.length - 1 - i;
    const inPad = i <= padLength ? 1 : 0;
    const byte = idx >= 0 ? data[idx]! : padLength;
    bad |= inPad & (byte !== padLength ? 1 : 0);
  }
  return { padLength, padOk: bad === 0 };
}
