/**
 * The USIM in a PC/SC reader, through pcsc-lite (npm pcsc-mini: a prebuilt addon linking libpcsclite.so.1,
 * so PCSCLITE_CSOCK_NAME chooses the pcscd as for any pcsc-lite client).
 */
import type { CardLink } from './card-usim.js';
import { CardError } from './apdu.js';

export interface PcscOptions {
  /** Exact reader name, or a substring of it; undefined: the first reader holding a card. */
  reader?: string;
  /** How long to wait for readers and a card to show up. */
  waitMs?: number;
}

export async function openPcscLink(o: PcscOptions = {}): Promise<CardLink & { reader: string }> {
  const pcsc = await import('pcsc-mini');
  const waitMs = o.waitMs ?? 4000;
  const client = new pcsc.Client();
  const seen = new Map<string, boolean>();
  let firstError: string | undefined;
  const chosen = await new Promise<InstanceType<typeof pcsc.Reader> | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), waitMs);
    const done = (r: InstanceType<typeof pcsc.Reader>) => {
      clearTimeout(timer);
      resolve(r);
    };
    client.on('error', (err) => {
      firstError ??= String((err as Error).message ?? err);
    });
    const readers: Array<InstanceType<typeof pcsc.Reader>> = [];
    const known = new Set<string>();
    // "The first reader holding a card" in the order pcscd lists readers, once every listed reader has reported.
    const decide = () => {
      if (known.size < readers.length) return;
      const r = readers.find((x) => {
        const name = x.name();
        return seen.get(name) && (o.reader === undefined || name === o.reader || name.includes(o.reader));
      });
      if (r) done(r);
    };
    client.on('reader', (reader) => {
      const name = reader.name();
      readers.push(reader);
      seen.set(name, false);
      reader.on('change', (status) => {
        seen.set(name, status.has(pcsc.ReaderStatus.PRESENT) && !status.has(pcsc.ReaderStatus.MUTE));
        known.add(name);
        decide();
      });
    });
    try {
      client.start();
    } catch (err) {
      firstError = (err as Error).message;
      clearTimeout(timer);
      resolve(undefined);
    }
  });
  if (!chosen) {
    client.stop();
    const names = [...seen.keys()];
    if (!names.length)
      throw new CardError(
        `no PC/SC reader found${firstError ? ` (${firstError})` : ''}: is pcscd running${process.env.PCSCLITE_CSOCK_NAME ? ` at ${process.env.PCSCLITE_CSOCK_NAME}` : ''}?`,
      );
    if (o.reader !== undefined && !names.some((n) => n === o.reader || n.includes(o.reader!)))
      throw new CardError(`no PC/SC reader named "${o.reader}" (readers: ${names.map((n) => `"${n}"`).join(', ')})`);
    throw new CardError(
      `no card in ${o.reader !== undefined ? `reader "${o.reader}"` : 'any reader'} (readers: ${names.map((n) => `"${n}"${seen.get(n) ? ' (card)' : ''}`).join(', ')})`,
    );
  }
  let card;
  try {
    card = await chosen.connect(pcsc.CardMode.SHARED);
  } catch (err) {
    client.stop();
    throw new CardError(`cannot connect to the card in "${chosen.name()}": ${(err as Error).message}`);
  }
  return {
    reader: chosen.name(),
    transmit: async (c) => {
      try {
        return Buffer.from(await card.transmit(c));
      } catch (err) {
        throw new CardError(`PC/SC transmit failed: ${(err as Error).message}`);
      }
    },
    close: async () => {
      // The card is done with: a handle pcscd already dropped (InvalidHandle) must not fail a finished run.
      await card.disconnect(pcsc.CardDisposition.LEAVE).catch(() => undefined);
      try {
        client.stop();
      } catch {
        /* already stopped */
      }
    },
  };
}
