/** `--usim soft|pcsc[:READER]|at:DEVICE[@BAUD]` (contract C7): parsing and opening a card-backed USIM. */
import { CardUsim } from './card-usim.js';

export type UsimSpec =
  { kind: 'soft' } | { kind: 'pcsc'; reader?: string } | { kind: 'at'; device: string; baud: number };

export const DEFAULT_BAUD = 115200;

/** The spec, or a problem sentence for the usage error. */
export function parseUsimSpec(s: string): UsimSpec | string {
  if (s === 'soft') return { kind: 'soft' };
  if (s === 'pcsc') return { kind: 'pcsc' };
  if (s.startsWith('pcsc:')) {
    const reader = s.slice(5);
    return reader ? { kind: 'pcsc', reader } : '--usim pcsc:READER: the reader name is empty';
  }
  if (s.startsWith('at:')) {
    const m = /^at:(.+?)(?:@(\d+))?$/.exec(s);
    if (!m) return '--usim at:DEVICE[@BAUD]: the device path is empty';
    const baud = m[2] === undefined ? DEFAULT_BAUD : Number(m[2]);
    if (!Number.isInteger(baud) || baud < 300 || baud > 4_000_000) return `--usim ${s}: baud rate must be 300..4000000`;
    return { kind: 'at', device: m[1]!, baud };
  }
  return `--usim: must be soft, pcsc, pcsc:READER or at:DEVICE[@BAUD], not ${JSON.stringify(s.slice(0, 60))}`;
}

export interface OpenOptions {
  pin?: string;
  onStep?: (step: string, detail?: Record<string, unknown>) => void;
}

/** Opens the card of a pcsc or at spec and reads its identity. */
export async function openCardUsim(spec: Exclude<UsimSpec, { kind: 'soft' }>, o: OpenOptions = {}): Promise<CardUsim> {
  const step = o.onStep ?? (() => {});
  if (spec.kind === 'pcsc') {
    const { openPcscLink } = await import('./pcsc.js');
    const link = await openPcscLink({ reader: spec.reader });
    step('usim.reader', { reader: link.reader });
    try {
      return await CardUsim.open(link);
    } catch (err) {
      await link.close();
      throw err;
    }
  }
  const { AtClient, openAtLink, openSerialAtPort } = await import('./at.js');
  const port = await openSerialAtPort(spec.device, spec.baud);
  const link = await openAtLink(new AtClient(port), { pin: o.pin });
  step('usim.modem', { device: spec.device, baud: spec.baud });
  try {
    const u = await CardUsim.open(link);
    if (link.quirks.length) step('usim.modem_quirks', { quirks: link.quirks.join(',') });
    return u;
  } catch (err) {
    await link.close();
    throw err;
  }
}
