/**
 * Plugs a software card into a vsmartcard `vpcd` virtual reader, as vsmartcard's `vicc` does: the card
 * connects out to vpcd's port; every frame is a 2-byte big-endian length then data; a 1-byte frame is a
 * control code (0 power off, 1 power on, 2 reset, 4 send the ATR), anything longer a C-APDU answered
 * with one R-APDU. pcscd then presents the card to every PC/SC program.
 */
import { connect, type Socket } from 'node:net';
import type { SoftCard } from './soft-card.js';

export interface VpcdCardOptions {
  host: string;
  port: number;
  /** Called on each power/reset event and connection change, for logs. */
  onEvent?: (event: string) => void;
  /** Reconnect after this delay when vpcd is not (yet) listening or goes away (ms). */
  retryMs?: number;
}

/** Length-prefixed frames out of a byte stream; bounded by the 16-bit length. */
export class VpcdFramer {
  #buf = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    const out: Buffer[] = [];
    while (this.#buf.length >= 2) {
      const n = this.#buf.readUInt16BE(0);
      if (this.#buf.length < 2 + n) break;
      out.push(Buffer.from(this.#buf.subarray(2, 2 + n)));
      this.#buf = this.#buf.subarray(2 + n);
    }
    return out;
  }
}

export const vpcdFrame = (data: Buffer): Buffer => {
  const h = Buffer.alloc(2);
  h.writeUInt16BE(data.length);
  return Buffer.concat([h, data]);
};

/** The card's answer to one vpcd frame (undefined: nothing to send). */
export function answerVpcd(card: SoftCard, frame: Buffer, onEvent: (e: string) => void = () => {}): Buffer | undefined {
  if (frame.length === 1) {
    switch (frame[0]) {
      case 0:
        onEvent('power off');
        card.reset();
        return undefined;
      case 1:
        onEvent('power on');
        card.reset();
        return undefined;
      case 2:
        onEvent('reset');
        card.reset();
        return undefined;
      case 4:
        return card.atr;
      default:
        return undefined;
    }
  }
  if (frame.length === 0) return undefined;
  return card.process(frame);
}

/** Keeps the card plugged into vpcd until `stop`. */
export function serveVpcd(card: SoftCard, o: VpcdCardOptions): { stop: () => void } {
  let stopped = false;
  let sock: Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const ev = o.onEvent ?? (() => {});
  const dial = () => {
    if (stopped) return;
    const framer = new VpcdFramer();
    const s = connect({ host: o.host, port: o.port });
    sock = s;
    s.setNoDelay(true);
    s.on('connect', () => ev(`connected to vpcd at ${o.host}:${o.port}`));
    s.on('data', (d: Buffer) => {
      for (const f of framer.push(d)) {
        const r = answerVpcd(card, f, ev);
        if (r) s.write(vpcdFrame(r));
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      if (stopped) return;
      ev('vpcd connection closed; retrying');
      timer = setTimeout(dial, o.retryMs ?? 500);
    });
  };
  dial();
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      sock?.destroy();
    },
  };
}
