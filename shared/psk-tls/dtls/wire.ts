/** Bounds-checked reading and writing of the TLS presentation language (RFC 5246 §4): uintN and opaque<..> vectors. */
import { DecodeError } from '../../errors.js';

/** A cursor over a buffer. Every read checks bounds and throws DecodeError, never RangeError. */
export class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer, private readonly format: string, private readonly base = 0) {}

  get offset(): number { return this.pos; }
  get remaining(): number { return this.buf.length - this.pos; }
  atEnd(): boolean { return this.pos === this.buf.length; }

  fail(reason: string): never { throw new DecodeError(this.format, reason, this.base + this.pos); }

  private need(n: number, what: string): void {
    if (n > this.remaining) this.fail(`${what}: needs ${n} octets, ${this.remaining} left`);
  }

  u8(what = 'uint8'): number { this.need(1, what); return this.buf[this.pos++]!; }
  u16(what = 'uint16'): number { this.need(2, what); const v = this.buf.readUInt16BE(this.pos); this.pos += 2; return v; }
  u24(what = 'uint24'): number { this.need(3, what); const v = this.buf.readUIntBE(this.pos, 3); this.pos += 3; return v; }
  u48(what = 'uint48'): number { this.need(6, what); const v = this.buf.readUIntBE(this.pos, 6); this.pos += 6; return v; }

  bytes(n: number, what = 'opaque'): Buffer {
    this.need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** opaque x<min..max> with a 1-octet length. */
  vector8(what: string, min = 0, max = 255): Buffer { return this.checked(this.u8(`${what} length`), min, max, what); }
  /** opaque x<min..max> with a 2-octet length. */
  vector16(what: string, min = 0, max = 65535): Buffer { return this.checked(this.u16(`${what} length`), min, max, what); }

  private checked(len: number, min: number, max: number, what: string): Buffer {
    if (len < min || len > max) this.fail(`${what}: length ${len} outside <${min}..${max}>`);
    return this.bytes(len, what);
  }

  rest(): Buffer { return this.bytes(this.remaining); }

  expectEnd(what: string): void {
    if (!this.atEnd()) this.fail(`${what}: ${this.remaining} trailing octets`);
  }
}

export const u8 = (v: number): Buffer => Buffer.from([v & 0xff]);
export function u16(v: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; }
export function u24(v: number): Buffer { const b = Buffer.alloc(3); b.writeUIntBE(v, 0, 3); return b; }
export function u48(v: number): Buffer { const b = Buffer.alloc(6); b.writeUIntBE(v, 0, 6); return b; }

export function vector8(data: Uint8Array): Buffer {
  if (data.length > 255) throw new RangeError(`vector8 of ${data.length} octets`);
  return Buffer.concat([u8(data.length), data]);
}
export function vector16(data: Uint8Array): Buffer {
  if (data.length > 65535) throw new RangeError(`vector16 of ${data.length} octets`);
  return Buffer.concat([u16(data.length), data]);
}
