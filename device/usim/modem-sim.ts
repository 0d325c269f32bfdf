/**
 * A simulated modem for labs without hardware: the AT commands of TS 27.007 a host needs to reach the USIM
 * (+CSIM §8.17, +CCHO §8.45, +CCHC §8.46, +CGLA §8.43, +CIMI §7.4, +CPIN §8.3) in front of the software card,
 * with switchable quirks that real modules show. `AtModemSim.input` takes bytes from the host and returns
 * what the modem writes back; the pty wrapper (`runModemOnPty`) is in modem-pty.ts.
 */
import { channelOfCla } from './apdu.js';
import type { SoftCard } from './soft-card.js';

export const MODEM_QUIRKS = [
  'bare-ccho',
  'auto-get-response',
  'no-cgla',
  'no-csim-auth',
  'keep-echo',
  'unquoted',
  'no-card',
] as const;
export type ModemQuirk = (typeof MODEM_QUIRKS)[number];

export interface ModemOptions {
  quirks?: readonly ModemQuirk[];
  /** A SIM PIN the host must give with AT+CPIN before the SIM answers (the cards of `usim serve` have none). */
  pin?: string;
}

const MAX_LINE = 2048;

export class AtModemSim {
  #echo = true;
  #buf = '';
  #pinOk: boolean;
  readonly #q: Set<ModemQuirk>;

  constructor(
    readonly card: SoftCard | undefined,
    readonly o: ModemOptions = {},
  ) {
    this.#q = new Set(o.quirks ?? []);
    if (!card) this.#q.add('no-card');
    this.#pinOk = !o.pin;
  }

  /** Bytes from the host → bytes to the host. Lines end with CR (V.250 S3); LF is ignored. */
  input(chunk: string): string {
    let out = '';
    for (const c of chunk) {
      if (c === '\n') continue;
      if (c !== '\r') {
        if (this.#buf.length < MAX_LINE) this.#buf += c;
        continue;
      }
      const line = this.#buf.trim();
      this.#buf = '';
      if (!line) continue;
      if (this.#echo) out += `${line}\r`;
      out += this.#answer(line)
        .map((l) => `\r\n${l}\r\n`)
        .join('');
    }
    return out;
  }

  #answer(line: string): string[] {
    const u = line.toUpperCase();
    if (!u.startsWith('AT')) return ['ERROR'];
    if (u === 'AT') return ['OK'];
    if (/^ATE[01]?$/.test(u)) {
      if (!this.#q.has('keep-echo')) this.#echo = u === 'ATE1';
      return ['OK'];
    }
    if (/^AT\+CMEE=[012]$/.test(u)) return ['OK'];
    if (u === 'ATI' || u === 'AT+CGMI') return ['gba-sim', 'OK'];
    if (u === 'AT+CGMM') return ['simulated modem (TS 27.007 SIM access)', 'OK'];
    if (u === 'AT+CPIN?') {
      if (this.#q.has('no-card')) return ['+CME ERROR: SIM not inserted'];
      return [`+CPIN: ${this.#pinOk ? 'READY' : 'SIM PIN'}`, 'OK'];
    }
    const pin = /^AT\+CPIN="?(\d{4,8})"?$/.exec(u);
    if (pin) {
      if (this.#q.has('no-card')) return ['+CME ERROR: SIM not inserted'];
      if (this.#pinOk) return ['+CME ERROR: operation not allowed'];
      if (pin[1] !== this.o.pin) return ['+CME ERROR: incorrect password'];
      this.#pinOk = true;
      return ['OK'];
    }
    if (!/^AT\+(CIMI|CSIM|CCHO|CCHC|CGLA)/.test(u)) return ['ERROR'];
    if (this.#q.has('no-card') || !this.card) return ['+CME ERROR: SIM not inserted'];
    if (!this.#pinOk) return ['+CME ERROR: SIM PIN required'];
    const card = this.card;
    if (u === 'AT+CIMI') return [card.o.imsi, 'OK'];
    const q = this.#q.has('unquoted') ? '' : '"';
    const csim = /^AT\+CSIM=(\d+),"?([0-9A-F]*)"?$/.exec(u);
    if (csim) {
      const apdu = hexOf(csim[1]!, csim[2]!);
      if (!apdu) return ['+CME ERROR: operation not allowed'];
      if (this.#q.has('no-csim-auth') && apdu[1] === 0x88) return ['+CME ERROR: operation not supported'];
      const r = this.#transmit(apdu).toString('hex').toUpperCase();
      return [`+CSIM: ${r.length},${q}${r}${q}`, 'OK'];
    }
    if (this.#q.has('no-cgla') && /^AT\+(CCHO|CCHC|CGLA)/.test(u)) return ['ERROR'];
    const ccho = /^AT\+CCHO="?([0-9A-F]{10,32})"?$/.exec(u);
    if (ccho) {
      // The MT opens a channel and selects the application on it (TS 27.007 §8.45).
      const open = card.process(Buffer.from('0070000001', 'hex'));
      if (open.length !== 3) return ['+CME ERROR: memory full'];
      const n = open[0]!;
      const aid = Buffer.from(ccho[1]!, 'hex');
      const sel = card.process(
        Buffer.concat([Buffer.from([n < 4 ? n : 0x40 | (n - 4), 0xa4, 0x04, 0x0c, aid.length]), aid]),
      );
      if (sel.readUInt16BE(sel.length - 2) !== 0x9000) {
        card.process(Buffer.from([0x00, 0x70, 0x80, n]));
        return ['+CME ERROR: not found'];
      }
      return [this.#q.has('bare-ccho') ? String(n) : `+CCHO: ${n}`, 'OK'];
    }
    const cchc = /^AT\+CCHC=(\d+)$/.exec(u);
    if (cchc) {
      const r = card.process(Buffer.from([0x00, 0x70, 0x80, Number(cchc[1]) & 0xff]));
      return r.readUInt16BE(0) === 0x9000 ? ['OK'] : ['+CME ERROR: invalid index'];
    }
    const cgla = /^AT\+CGLA=(\d+),(\d+),"?([0-9A-F]*)"?$/.exec(u);
    if (cgla) {
      const apdu = hexOf(cgla[2]!, cgla[3]!);
      const n = Number(cgla[1]);
      if (!apdu || n < 1 || n > 19) return ['+CME ERROR: operation not allowed'];
      if (channelOfCla(apdu[0]!) !== n) return ['+CME ERROR: invalid index'];
      const r = this.#transmit(apdu).toString('hex').toUpperCase();
      return [`+CGLA: ${r.length},${q}${r}${q}`, 'OK'];
    }
    return ['ERROR'];
  }

  /** With `auto-get-response`, the modem itself fetches what a 61xx announces (as many modules do). */
  #transmit(apdu: Buffer): Buffer {
    const card = this.card!;
    let r = card.process(apdu);
    if (this.#q.has('auto-get-response')) {
      const acc: Buffer[] = [];
      while (r.length >= 2 && r[r.length - 2] === 0x61) {
        acc.push(r.subarray(0, r.length - 2));
        r = card.process(Buffer.from([apdu[0]!, 0xc0, 0x00, 0x00, r[r.length - 1]!]));
      }
      r = Buffer.concat([...acc, r]);
    }
    return r;
  }
}

/** `<len>,"<hex>"`: the length counts hex characters (TS 27.007 §8.17). */
function hexOf(len: string, hex: string): Buffer | undefined {
  if (Number(len) !== hex.length || hex.length % 2 || hex.length < 8) return undefined;
  return Buffer.from(hex, 'hex');
}
