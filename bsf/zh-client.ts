/**
 * The BSF's only way to the HSS: Zh over HTTP (N65, TS 29.562). Authentication vectors are fetched per
 * bootstrap; GUSS is cached per IMPI for a short, configurable time, since it changes rarely and is read on
 * every Ub challenge and Zn request.
 */
import { JsonClient, PeerUnavailable } from '../shared/http/client.js';
import type { AuthVector } from '../shared/crypto/aka-tokens.js';
import type { Guss } from '../shared/store/types.js';

export class UserUnknown extends Error { override readonly name = 'UserUnknown'; }
/** The HSS refused (e.g. MAC-S of a resynchronisation did not verify). */
export class HssRefused extends Error { override readonly name = 'HssRefused'; }
export { PeerUnavailable };

const hex = (v: unknown, octets: number[] | number, name: string): Buffer => {
  const lens = typeof octets === 'number' ? [octets] : octets;
  if (typeof v !== 'string' || !/^[0-9a-fA-F]*$/.test(v) || !lens.includes(v.length / 2)) throw new PeerUnavailable(`HSS answered a malformed ${name}`);
  return Buffer.from(v, 'hex');
};

export class ZhClient {
  readonly #http: JsonClient;
  readonly #guss = new Map<string, { at: number; guss: Guss | undefined }>();

  constructor(hssUrl: string, token: string, readonly gussCacheMs: number, readonly maxCached = 100_000) {
    this.#http = new JsonClient(hssUrl, { token, timeoutMs: 3000 });
  }

  /** One AV for the IMPI; with `resync`, after resynchronisation from RAND + AUTS (TS 33.102 §6.3.5). */
  async authVector(impi: string, resync?: { rand: Buffer; auts: Buffer }): Promise<AuthVector> {
    const body = resync
      ? { authenticationScheme: 'DIGEST_AKAV1_MD5', resynchronizationInfo: { rand: resync.rand.toString('hex'), auts: resync.auts.toString('hex') } }
      : { authenticationScheme: 'DIGEST_AKAV1_MD5' };
    const r = await this.#http.request('POST', `/nhss-gba-ueau/v1/${encodeURIComponent(impi)}/security-information/generate-auth-data`, body);
    if (r.status === 404) throw new UserUnknown(impi);
    if (r.status === 403) throw new HssRefused((r.body as { detail?: string } | undefined)?.detail ?? 'refused by the HSS');
    if (r.status !== 200) throw new PeerUnavailable(`HSS answered ${r.status}`);
    const av = (r.body as { '3gAkaAv'?: Record<string, unknown> } | undefined)?.['3gAkaAv'];
    if (!av) throw new PeerUnavailable('HSS answer without 3gAkaAv');
    return {
      rand: hex(av.rand, 16, 'rand'), xres: hex(av.xres, [4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], 'xres'),
      autn: hex(av.autn, 16, 'autn'), ck: hex(av.ck, 16, 'ck'), ik: hex(av.ik, 16, 'ik'),
    };
  }

  /** GUSS of the IMPI (undefined when none is provisioned); cached for gussCacheMs. */
  async guss(impi: string): Promise<Guss | undefined> {
    const now = Date.now();
    const hit = this.#guss.get(impi);
    if (hit && now - hit.at < this.gussCacheMs) return hit.guss;
    const r = await this.#http.request('GET', `/nhss-gba-sdm/v1/${encodeURIComponent(impi)}/subscriber-data`);
    if (r.status === 404) throw new UserUnknown(impi);
    if (r.status !== 200) throw new PeerUnavailable(`HSS answered ${r.status}`);
    const guss = (r.body as { guss?: Guss } | undefined)?.guss;
    if (this.gussCacheMs > 0) {
      if (this.#guss.size >= this.maxCached) this.#guss.delete(this.#guss.keys().next().value!);
      this.#guss.set(impi, { at: now, guss });
    }
    return guss;
  }

  close(): Promise<void> { return this.#http.close(); }
}
