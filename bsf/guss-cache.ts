/**
 * GUSS cached per IMPI for a short, configurable time, over any ZhService (HTTP or Diameter binding): GUSS
 * changes rarely and is read on every Ub challenge and Zn request. Authentication vectors pass through.
 */
import type { AuthVector } from '../shared/crypto/aka-tokens.js';
import type { Guss } from '../shared/store/types.js';
import type { ResyncInfo, ZhService } from '../shared/services/zh.js';

export class GussCachingZh implements ZhService {
  readonly #guss = new Map<string, { at: number; guss: Guss | undefined }>();

  constructor(
    readonly inner: ZhService,
    readonly gussCacheMs: number,
    readonly maxCached = 100_000,
    readonly now: () => number = Date.now,
  ) {}

  authVector(impi: string, resync?: ResyncInfo): Promise<AuthVector> {
    return this.inner.authVector(impi, resync);
  }

  async guss(impi: string): Promise<Guss | undefined> {
    const now = this.now();
    const hit = this.#guss.get(impi);
    if (hit && now - hit.at < this.gussCacheMs) return hit.guss;
    const guss = await this.inner.guss(impi);
    if (this.gussCacheMs > 0) {
      this.#guss.delete(impi);
      if (this.#guss.size >= this.maxCached) this.#guss.delete(this.#guss.keys().next().value!);
      this.#guss.set(impi, { at: now, guss });
    }
    return guss;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
