/**
 * Zh over HTTP (N65, TS 29.562): the BSF's HTTP binding of ZhService (shared/services/zh.ts), reading the
 * shapes of the contract module shared/wire/sbi/zh.ts. N65 statuses map to the domain errors of
 * shared/services/errors.ts: 404 → UserUnknown, 403 → HssRefused, anything else → PeerUnavailable.
 */
import { JsonClient, PeerUnavailable } from '../shared/http/client.js';
import type { AuthVector } from '../shared/crypto/aka-tokens.js';
import type { Guss } from '../shared/store/types.js';
import { HssRefused, UserUnknown } from '../shared/services/errors.js';
import type { ResyncInfo, ZhService } from '../shared/services/zh.js';
import {
  AuthenticationInfoResultSchema,
  GbaSubscriberDataSchema,
  zhGenerateAuthDataPath,
  zhSubscriberDataPath,
  type AuthenticationInfoRequest,
} from '../shared/wire/sbi/zh.js';

/** The HSS's own words for a refusal, without the "resynchronisation refused:" the caller says itself. */
const refusalReason = (detail: unknown): string =>
  typeof detail === 'string' && detail
    ? detail.replace(/^resynchroni[sz]ation refused:\s*/i, '')
    : 'refused by the HSS';

export class HttpZhService implements ZhService {
  readonly #http: JsonClient;

  constructor(hssUrl: string, token: string, timeoutMs = 3000) {
    this.#http = new JsonClient(hssUrl, { token, timeoutMs });
  }

  async authVector(impi: string, resync?: ResyncInfo): Promise<AuthVector> {
    const body: AuthenticationInfoRequest = resync
      ? {
          authenticationScheme: 'DIGEST_AKAV1_MD5',
          resynchronizationInfo: { rand: resync.rand.toString('hex'), auts: resync.auts.toString('hex') },
        }
      : { authenticationScheme: 'DIGEST_AKAV1_MD5' };
    const r = await this.#http.request('POST', zhGenerateAuthDataPath(impi), body);
    if (r.status === 404) throw new UserUnknown(impi);
    if (r.status === 403) throw new HssRefused(refusalReason((r.body as { detail?: unknown } | undefined)?.detail));
    if (r.status !== 200) throw new PeerUnavailable(`HSS answered ${r.status}`);
    const p = AuthenticationInfoResultSchema.safeParse(r.body);
    if (!p.success)
      throw new PeerUnavailable(
        `HSS answered a malformed AuthenticationInfoResult (${p.error.issues.map((i) => i.path.join('.')).join(', ')})`,
      );
    const av = p.data['3gAkaAv'];
    const hex = (s: string) => Buffer.from(s, 'hex');
    return { rand: hex(av.rand), xres: hex(av.xres), autn: hex(av.autn), ck: hex(av.ck), ik: hex(av.ik) };
  }

  async guss(impi: string): Promise<Guss | undefined> {
    const r = await this.#http.request('GET', zhSubscriberDataPath(impi));
    if (r.status === 404) throw new UserUnknown(impi);
    if (r.status !== 200) throw new PeerUnavailable(`HSS answered ${r.status}`);
    const p = GbaSubscriberDataSchema.safeParse(r.body ?? {});
    if (!p.success) throw new PeerUnavailable('HSS answered malformed GBA subscriber data');
    return p.data.guss;
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}
