/**
 * Zn over HTTP (N66, TS 29.309 Nbsp_GBA): the NAF's HTTP binding of ZnService (shared/services/zn.ts), reading
 * the shapes of the contract module shared/wire/sbi/zn.ts. N66 statuses map to the domain errors of
 * shared/services/errors.ts: 404 → BtidUnknown, 403 → NafNotAuthorized, anything else → PeerUnavailable.
 */
import { JsonClient, PeerUnavailable } from '../shared/http/client.js';
import { BtidUnknown, NafNotAuthorized } from '../shared/services/errors.js';
import type { BootstrappingInfo, NafId, ZnService } from '../shared/services/zn.js';
import { BootstrappingInfoSchema, ZN_RETRIEVAL_PATH, type BootstrappingInfoRequest } from '../shared/wire/sbi/zn.js';

export class HttpZnService implements ZnService {
  readonly #http: JsonClient;

  constructor(
    znUrl: string,
    token: string,
    readonly now: () => number = Date.now,
    timeoutMs = 3000,
  ) {
    this.#http = new JsonClient(znUrl, { token, timeoutMs });
  }

  async bootstrappingInfo(btid: string, nafId: NafId, gbaUAware: boolean): Promise<BootstrappingInfo> {
    const req: BootstrappingInfoRequest = {
      btId: btid,
      nafId: { nafFqdn: nafId.fqdn, uaSecProtId: nafId.uaSecProtId },
    };
    // gbaUAware is left out when false, its default (TS 29.309), so the request stays what it always was.
    if (gbaUAware) req.gbaUAware = true;
    const r = await this.#http.request('POST', ZN_RETRIEVAL_PATH, req);
    if (r.status === 404) throw new BtidUnknown(btid);
    if (r.status === 403)
      throw new NafNotAuthorized((r.body as { detail?: string } | undefined)?.detail ?? `BSF refused ${nafId.fqdn}`);
    if (r.status !== 200) throw new PeerUnavailable(`BSF answered ${r.status} on Zn`);
    const p = BootstrappingInfoSchema.safeParse(r.body);
    if (!p.success) {
      // Name the members at fault, never their values: the body carries keys.
      throw new PeerUnavailable(
        `BSF answered Zn with a malformed BootstrappingInfo (${[...new Set(p.error.issues.map((i) => i.path.join('.') || '(body)'))].join(', ')})`,
      );
    }
    const b = p.data;
    return {
      btid,
      impi: b.impi,
      meKey: Buffer.from(b.meKeyMaterial, 'hex'),
      uiccKey: b.uiccKeyMaterial === undefined ? undefined : Buffer.from(b.uiccKeyMaterial, 'hex'),
      expiresAtMs: Date.parse(b.keyExpiryTime),
      createdAtMs:
        b.bootstrappingInfoCreationTime === undefined ? this.now() : Date.parse(b.bootstrappingInfoCreationTime),
      gbaType: b.gbaType ?? '3G_GBA',
      ussList: b.ussList,
    };
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}
