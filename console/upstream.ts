/**
 * The console's view of the network: only the NFs' admin and REST APIs, with the admin token the console
 * process holds (C5, C9). It reads endpoints.json when it changes, so it may start before `up` writes it.
 * Nothing secret is ever asked for (no includeSecrets) or passed on to the browser.
 */
import { readFileSync, statSync } from 'node:fs';

export interface ConsoleEndpoints {
  hss: { provisioning: string; adminToken?: string };
  bsf: { admin?: string };
  lwm2m?: { api?: string };
  admin?: { token: string };
  homeNetwork?: { mcc: string; mnc: string };
}

export interface Subscriber {
  imsi: string;
  impi: string;
  algorithm: string;
  updatedAt?: string;
}
export interface Session {
  btid: string;
  impi: string;
  createdAt: string;
  expiresAt: string;
}
export interface DeviceEvent {
  at: string;
  impi: string;
  outcome: string;
  reason: string;
  btid?: string;
}
export interface Client {
  endpoint: string;
  transport?: string;
  lastUpdate?: string;
  registeredAt?: string;
  btid?: string;
  lwm2mVersion?: string;
  lifetime?: number;
  address?: string;
}

export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export class Upstreams {
  #cache: { mtimeMs: number; e: ConsoleEndpoints } | undefined;
  constructor(
    readonly endpointsFile: string,
    readonly timeoutMs = 4000,
  ) {}

  endpoints(): ConsoleEndpoints {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.endpointsFile).mtimeMs;
    } catch {
      throw new UpstreamError(503, `the network is not up yet (no ${this.endpointsFile})`);
    }
    if (this.#cache?.mtimeMs !== mtimeMs)
      this.#cache = { mtimeMs, e: JSON.parse(readFileSync(this.endpointsFile, 'utf8')) as ConsoleEndpoints };
    return this.#cache.e;
  }

  get #adminToken(): string {
    const e = this.endpoints();
    return e.admin?.token ?? e.hss.adminToken ?? '';
  }

  async #call(
    base: string | undefined,
    path: string,
    init: { method?: string; body?: string; contentType?: string } = {},
  ): Promise<unknown> {
    if (!base) throw new UpstreamError(503, 'that API is not part of this network');
    const url = `${base.replace(/\/$/, '')}${path}`;
    let r: Response;
    try {
      r = await fetch(url, {
        method: init.method ?? 'GET',
        headers: {
          authorization: `Bearer ${this.#adminToken}`,
          accept: 'application/json',
          ...(init.contentType ? { 'content-type': init.contentType } : {}),
        },
        ...(init.body !== undefined ? { body: init.body } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch {
      throw new UpstreamError(503, `${new URL(url).host} did not answer`);
    }
    const text = await r.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!r.ok) {
      const detail = (body as { detail?: unknown } | undefined)?.detail;
      throw new UpstreamError(r.status, typeof detail === 'string' ? detail : `HTTP ${r.status}`);
    }
    return body;
  }

  async subscribers(limit = 200): Promise<{ items: Subscriber[]; total: number }> {
    const b = (await this.#call(this.endpoints().hss.provisioning, `/subscribers?limit=${limit}`)) as {
      items: Subscriber[];
      total: number;
    };
    return { items: b.items ?? [], total: b.total ?? 0 };
  }
  async subscriber(imsi: string): Promise<Subscriber> {
    return this.#call(
      this.endpoints().hss.provisioning,
      `/subscribers/${encodeURIComponent(imsi)}`,
    ) as Promise<Subscriber>;
  }
  async addSubscriber(imsi: string, doc: Record<string, unknown>): Promise<void> {
    await this.#call(this.endpoints().hss.provisioning, `/subscribers/${encodeURIComponent(imsi)}`, {
      method: 'PUT',
      body: JSON.stringify(doc),
      contentType: 'application/json',
    });
  }
  async deleteSubscriber(imsi: string): Promise<void> {
    await this.#call(this.endpoints().hss.provisioning, `/subscribers/${encodeURIComponent(imsi)}`, {
      method: 'DELETE',
    });
  }
  async importCsv(csv: string): Promise<{ imported: number; created: number }> {
    return this.#call(this.endpoints().hss.provisioning, '/subscribers:import', {
      method: 'POST',
      body: csv,
      contentType: 'text/csv',
    }) as Promise<{ imported: number; created: number }>;
  }
  async sessions(impi?: string): Promise<Session[]> {
    const q = impi ? `?impi=${encodeURIComponent(impi)}&limit=100` : '?limit=200';
    return ((await this.#call(this.endpoints().bsf.admin, `/sessions${q}`)) as { items: Session[] }).items;
  }
  async revoke(btid: string): Promise<void> {
    await this.#call(this.endpoints().bsf.admin, `/sessions/${encodeURIComponent(btid)}`, { method: 'DELETE' });
  }
  async events(impi?: string, limit = 30): Promise<DeviceEvent[]> {
    const q = `?limit=${limit}${impi ? `&impi=${encodeURIComponent(impi)}` : ''}`;
    return ((await this.#call(this.endpoints().bsf.admin, `/events${q}`)) as { items: DeviceEvent[] }).items;
  }
  async clients(): Promise<Client[]> {
    return (await this.#call(this.endpoints().lwm2m?.api, '/api/clients')) as Client[];
  }
  async read(endpoint: string, path: string): Promise<unknown> {
    return this.#call(this.endpoints().lwm2m?.api, `/api/clients/${encodeURIComponent(endpoint)}${path}`);
  }
}
