/**
 * The USIM behind a modem's AT interface (TS 27.007 §8.17 +CSIM, §8.45–8.47 +CCHO/+CCHC/+CGLA).
 *
 * Modems differ; what this client copes with (the quirks table of the README):
 *  - echo on at start: lines equal to the command are skipped until ATE0 takes effect (or for ever);
 *  - `+CCHO: <n>` or a bare `<n>` (the bare form is §8.45's own);
 *  - `61xx` passed through +CSIM/+CGLA: GET RESPONSE is sent on the same channel (CardChannel does it);
 *  - modems that fetch the response themselves: the data simply comes with 9000;
 *  - no +CCHO/+CGLA: the USIM runs on the basic channel through +CSIM;
 *  - responses with or without quotes around the hex string;
 *  - a SIM PIN: `+CPIN: SIM PIN` → AT+CPIN with the PIN given, or a clear error.
 */
import type { ApduTransport } from './apdu.js';
import { CardError } from './apdu.js';
import type { CardLink } from './card-usim.js';

/** Where AT text goes and comes from: a serial port, or the simulated modem in memory. */
export interface AtPort {
  write(s: string): void;
  onData(cb: (chunk: string) => void): void;
  close(): Promise<void>;
}

export class AtError extends CardError {
  constructor(message: string) {
    super(message);
    this.name = 'AtError';
  }
}

const FINAL = /^(OK|ERROR|\+CME ERROR:.*|\+CMS ERROR:.*|NO CARRIER)$/;
/** Bound on one answer, so a babbling port cannot grow memory without end. */
const MAX_BUFFER = 64 * 1024;

/** TS 27.007 §9.2 numeric +CME ERROR codes a SIM path meets. */
const CME: Record<string, string> = {
  '3': 'operation not allowed',
  '4': 'operation not supported',
  '10': 'SIM not inserted',
  '11': 'SIM PIN required',
  '12': 'SIM PUK required',
  '13': 'SIM failure',
  '14': 'SIM busy',
  '15': 'SIM wrong',
  '16': 'incorrect password',
};

export class AtClient {
  #buf = '';
  #lines: string[] = [];
  #wake: (() => void) | undefined;
  #busy: Promise<unknown> = Promise.resolve();

  constructor(
    readonly port: AtPort,
    readonly timeoutMs = 10_000,
  ) {
    port.onData((chunk) => {
      this.#buf += chunk;
      if (this.#buf.length > MAX_BUFFER) this.#buf = this.#buf.slice(-MAX_BUFFER);
      const parts = this.#buf.split(/\r\n|\r|\n/);
      this.#buf = parts.pop() ?? '';
      for (const l of parts) if (l.trim() !== '' && this.#lines.length < 1024) this.#lines.push(l.trim());
      this.#wake?.();
    });
  }

  /** Sends one command; resolves with the information lines (echo dropped), rejects on ERROR or timeout. */
  command(cmd: string, timeoutMs = this.timeoutMs): Promise<string[]> {
    const run = async (): Promise<string[]> => {
      this.#lines = [];
      this.port.write(`${cmd}\r`);
      const info: string[] = [];
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        while (this.#lines.length) {
          const l = this.#lines.shift()!;
          if (l === cmd) continue;
          if (!FINAL.test(l)) {
            info.push(l);
            continue;
          }
          if (l === 'OK') return info;
          throw new AtError(`${cmd.slice(0, 40)}: ${describeError(l)}`);
        }
        const left = deadline - Date.now();
        if (left <= 0)
          throw new AtError(
            `${cmd.slice(0, 40)}: no answer from the modem within ${Math.round(timeoutMs / 1000)} s (wrong port or baud rate?)`,
          );
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          this.#wake = () => {
            clearTimeout(t);
            this.#wake = undefined;
            resolve();
          };
        });
      }
    };
    const p = this.#busy.then(run, run);
    this.#busy = p.catch(() => undefined);
    return p;
  }
}

function describeError(l: string): string {
  const m = /^\+CME ERROR:\s*(.*)$/.exec(l);
  if (!m) return l;
  const v = m[1]!.trim();
  const text = CME[v] ?? v;
  if (/SIM not inserted/i.test(text)) return 'no SIM card in the modem (+CME ERROR: SIM not inserted)';
  if (/SIM PIN required/i.test(text)) return 'the SIM needs its PIN (+CME ERROR: SIM PIN required): pass --usim-pin';
  if (/incorrect password/i.test(text)) return 'wrong PIN (+CME ERROR: incorrect password)';
  if (/PUK/i.test(text)) return 'the SIM is blocked and needs its PUK';
  return `+CME ERROR: ${text}`;
}

/** `+CSIM: <len>,"<hex>"` / `+CGLA: …`, with or without quotes; the length counts hex characters. */
export function parseApduAnswer(prefix: string, lines: string[]): Buffer {
  const re = new RegExp(`^\\${prefix}:\\s*(\\d+)\\s*,\\s*"?([0-9A-Fa-f]*)"?$`);
  for (const l of lines) {
    const m = re.exec(l);
    if (!m) continue;
    const hex = m[2]!;
    if (Number(m[1]) !== hex.length || hex.length % 2 || hex.length < 4)
      throw new AtError(`${prefix} answer has a bad length: ${l.slice(0, 60)}`);
    return Buffer.from(hex, 'hex');
  }
  throw new AtError(`no ${prefix} line in the answer (${lines.join(' | ').slice(0, 80) || 'only OK'})`);
}

/** `+CCHO: <n>` or a bare `<n>` (TS 27.007 §8.45 shows the session id alone). */
export function parseCchoAnswer(lines: string[]): number {
  for (const l of lines) {
    const m = /^(?:\+CCHO:\s*)?(\d+)$/.exec(l);
    if (m) return Number(m[1]);
  }
  throw new AtError(`no channel number in the +CCHO answer (${lines.join(' | ').slice(0, 80)})`);
}

export interface AtLinkOptions {
  pin?: string;
}

/** Brings the modem to a state where the SIM answers: echo off, verbose errors, PIN checked. */
export async function openAtLink(at: AtClient, o: AtLinkOptions = {}): Promise<CardLink & { quirks: string[] }> {
  const quirks: string[] = [];
  try {
    // A modem just opened may drop the first command (autobaud, leftover input): one retry.
    await at.command('AT', Math.min(3000, at.timeoutMs)).catch(() => at.command('AT'));
    await at.command('ATE0');
    await at.command('AT+CMEE=2').catch(() => undefined);
    const cpin =
      (await at.command('AT+CPIN?'))
        .find((l) => l.startsWith('+CPIN:'))
        ?.slice(6)
        .trim() ?? 'READY';
    if (/SIM PIN/.test(cpin)) {
      if (!o.pin) throw new AtError('the SIM needs its PIN (+CPIN: SIM PIN): pass --usim-pin');
      await at.command(`AT+CPIN="${o.pin.replace(/[^0-9]/g, '')}"`);
    } else if (cpin !== 'READY') {
      throw new AtError(`the SIM is not ready (+CPIN: ${cpin})`);
    }
  } catch (err) {
    await at.port.close().catch(() => undefined);
    throw err;
  }
  const csim: ApduTransport = async (c) => {
    const hex = c.toString('hex').toUpperCase();
    try {
      return parseApduAnswer('+CSIM', await at.command(`AT+CSIM=${hex.length},"${hex}"`));
    } catch (err) {
      if (err instanceof AtError && c[1] === 0x88 && /ERROR/.test(err.message)) {
        throw new AtError(`the modem refuses AUTHENTICATE through +CSIM (${err.message}) and offers no +CCHO/+CGLA`);
      }
      throw err;
    }
  };
  return {
    quirks,
    transmit: csim,
    openApplication: async (aid) => {
      let n: number;
      try {
        n = parseCchoAnswer(await at.command(`AT+CCHO="${aid.toString('hex').toUpperCase()}"`));
      } catch (err) {
        if (!(err instanceof AtError) || /no answer/.test(err.message)) throw err;
        // No logical channels from this modem: the USIM on the basic channel through +CSIM.
        quirks.push('no-ccho');
        const basic = { channel: 0, transmit: csim, close: async () => {} };
        const r = await csim(Buffer.concat([Buffer.from([0x00, 0xa4, 0x04, 0x0c, aid.length]), aid]));
        if (r.readUInt16BE(r.length - 2) !== 0x9000)
          throw new AtError(`SELECT of the USIM through +CSIM answered ${r.subarray(-2).toString('hex')}`);
        return basic;
      }
      return {
        channel: n,
        transmit: async (c) => {
          const hex = c.toString('hex').toUpperCase();
          return parseApduAnswer('+CGLA', await at.command(`AT+CGLA=${n},${hex.length},"${hex}"`));
        },
        close: async () => {
          await at.command(`AT+CCHC=${n}`).catch(() => undefined);
        },
      };
    },
    close: () => at.port.close(),
  };
}

/** A serial port (npm serialport: prebuilt bindings) as an AtPort. */
export async function openSerialAtPort(path: string, baudRate: number): Promise<AtPort> {
  const { SerialPort } = await import('serialport');
  const sp = new SerialPort({ path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) =>
    sp.open((err) => (err ? reject(new AtError(`cannot open ${path}: ${err.message}`)) : resolve())),
  );
  return {
    write: (s) => {
      sp.write(s);
    },
    onData: (cb) => {
      sp.on('data', (d: Buffer) => cb(d.toString('latin1')));
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (!sp.isOpen) {
          resolve();
          return;
        }
        sp.close(() => resolve());
      }),
  };
}
