/**
 * The web console (C5, C9; issue 11): `gba-sim console`, at console.url (N+9 under `up`). Subscribers (list,
 * add, delete, CSV import), live sessions with expiry countdowns and revoke, LwM2M clients, a device page with
 * its timeline and a "read /3/0" button, and the live event list. It talks only to the NFs' admin and REST
 * APIs, holding the admin token itself; the browser never sees a token, K, OPc or a key. Forms carry a
 * per-process anti-CSRF token and must come from this origin.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type ResolvedConfig } from '../shared/config.js';
import { secretEqualString } from '../shared/bytes.js';
import { problems } from '../shared/http/problem.js';
import {
  Router,
  startHttpServer,
  type HttpRequest,
  type HttpResponse,
  type RunningServer,
} from '../shared/http/server.js';
import { nfContext, runUntilSignalled } from '../shared/nf/runtime.js';
import type { Logger } from '../shared/log.js';
import {
  APP_JS,
  clientsTable,
  esc,
  eventsTable,
  FAVICON_SVG,
  layout,
  sessionsTable,
  subscribersSection,
} from './pages.js';
import { UpstreamError, Upstreams, type Client, type DeviceEvent, type Session } from './upstream.js';

export interface RunningConsole {
  server: RunningServer;
  url: string;
  close(): Promise<void>;
}

const html = (body: string, status = 200): HttpResponse => ({
  status,
  headers: {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy':
      "default-src 'self'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; frame-ancestors 'none'",
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  },
  body,
});
const redirect = (to: string): HttpResponse => ({ status: 303, headers: { Location: to } });
const withMsg = (to: string, text: string, error = false) =>
  `${to}${to.includes('?') ? '&' : '?'}${error ? 'err' : 'msg'}=${encodeURIComponent(text)}`;

function formOf(req: HttpRequest): URLSearchParams {
  const ct = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (ct !== 'application/x-www-form-urlencoded')
    throw problems.unsupportedMediaType('expected a form (application/x-www-form-urlencoded)');
  return new URLSearchParams(req.body.toString('utf8'));
}

/** Safe in-console path to go back to (never another origin). */
const backOf = (f: URLSearchParams): string => {
  const b = f.get('back') ?? '/';
  return /^\/(?!\/)[^\s]*$/.test(b) ? b : '/';
};

/** A part of a page that could not be fetched: says which and why, and the rest of the page still renders. */
async function part<T>(what: string, p: Promise<T>): Promise<{ ok: true; v: T } | { ok: false; html: string }> {
  try {
    return { ok: true, v: await p };
  } catch (err) {
    const why = err instanceof UpstreamError ? err.message : 'failed';
    return { ok: false, html: `<p class="msg err">${esc(what)} unavailable: ${esc(why)}</p>` };
  }
}

export function consoleRouter(up: Upstreams, csrf: string, log: Logger): Router {
  const checkForm = (req: HttpRequest): URLSearchParams => {
    const origin = req.headers.origin;
    if (origin && origin !== 'null' && new URL(origin).host !== req.headers.host)
      throw problems.forbidden('cross-origin form');
    const f = formOf(req);
    if (!secretEqualString(f.get('csrf') ?? '', csrf)) throw problems.forbidden('the form is stale; reload the page');
    return f;
  };
  const msgOf = (req: HttpRequest) => {
    const err = req.query.get('err');
    const msg = req.query.get('msg');
    return err ? { text: err, error: true } : msg ? { text: msg, error: false } : undefined;
  };
  const action = async (to: string, done: string, fn: () => Promise<unknown>): Promise<HttpResponse> => {
    try {
      await fn();
      return redirect(withMsg(to, done));
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      return redirect(withMsg(to, err.message, true));
    }
  };

  return new Router()
    .get('/', async (req) => {
      const [subs, sessions, clients, events] = await Promise.all([
        part('Subscribers', up.subscribers()),
        part('Sessions', up.sessions()),
        part('LwM2M clients', up.clients()),
        part('Events', up.events(undefined, 30)),
      ]);
      const body = `<div class="grid"><section aria-labelledby="h-subs" id="subscribers"><h2 id="h-subs">Subscribers</h2>${subs.ok ? subscribersSection(subs.v, csrf) : subs.html}</section>
<section aria-labelledby="h-clients" id="clients"><h2 id="h-clients">LwM2M clients</h2>${clients.ok ? clientsTable(clients.v) : clients.html}
<h2 id="h-sessions"><a id="sessions"></a>Live sessions</h2>${sessions.ok ? sessionsTable(sessions.v, csrf, '/') : sessions.html}</section></div>
<section aria-labelledby="h-events" id="events"><h2 id="h-events">Events (live)</h2>${events.ok ? eventsTable(events.v) : events.html}</section>`;
      return html(layout('Overview', body, msgOf(req)));
    })
    .get('/device', async (req) => {
      const imsi = req.query.get('imsi') ?? undefined;
      const ep = req.query.get('ep') ?? undefined;
      if (!imsi && !ep) throw problems.badRequest('give imsi or ep');
      const clients = await part('LwM2M clients', up.clients());
      let impi: string | undefined;
      let client: Client | undefined;
      if (imsi) {
        const s = await part('Subscriber', up.subscriber(imsi));
        if (!s.ok) return html(layout('Device', s.html), 404);
        impi = s.v.impi;
      }
      const sessions = await part('Sessions', up.sessions(impi));
      const liveSessions: Session[] = sessions.ok ? sessions.v : [];
      if (clients.ok)
        client = ep
          ? clients.v.find((c) => c.endpoint === ep)
          : clients.v.find((c) => liveSessions.some((s) => s.btid === c.btid));
      if (!impi && client?.btid) impi = liveSessions.find((s) => s.btid === client!.btid)?.impi;
      const events = impi ? await part('Timeline', up.events(impi, 50)) : { ok: true as const, v: [] as DeviceEvent[] };
      const back = `/device?${imsi ? `imsi=${encodeURIComponent(imsi)}` : `ep=${encodeURIComponent(ep!)}`}`;
      const read = client
        ? `<form method="post" action="/device/read"><input type="hidden" name="csrf" value="${esc(csrf)}"><input type="hidden" name="ep" value="${esc(client.endpoint)}"><input type="hidden" name="back" value="${esc(back)}"><button type="submit">Read /3/0 (Device object)</button></form>`
        : '<p class="muted">not registered with the LwM2M server</p>';
      const mine = liveSessions.filter((s) => !impi || s.impi === impi);
      const body = `<h2>Device ${esc(imsi ?? ep)}</h2>
<p>IMPI <code>${esc(impi ?? 'unknown')}</code>${client ? ` · endpoint <code>${esc(client.endpoint)}</code> over ${esc(client.transport ?? '?')}, last update <time datetime="${esc(client.lastUpdate)}">${esc(client.lastUpdate)}</time>` : ''}</p>
<section aria-labelledby="h-read"><h2 id="h-read">LwM2M</h2>${read}${req.query.get('read') ? `<pre class="mono" aria-label="read result">${esc(req.query.get('read'))}</pre>` : ''}</section>
<section aria-labelledby="h-s"><h2 id="h-s">Live sessions</h2>${sessions.ok ? sessionsTable(mine, csrf, back) : sessions.html}</section>
<section aria-labelledby="h-t"><h2 id="h-t">Timeline</h2>${events.ok ? eventsTable(events.v).replace('id="events-body"', `id="events-body" data-impi="${esc(impi ?? '')}"`) : events.html}</section>`;
      return html(layout(`Device ${imsi ?? ep}`, body, msgOf(req)));
    })
    .post(
      '/subscribers',
      async (req) => {
        const f = checkForm(req);
        const imsi = f.get('imsi') ?? '';
        return action('/', `subscriber ${imsi} saved`, () =>
          up.addSubscriber(imsi, { k: f.get('k') ?? '', opc: f.get('opc') ?? '' }),
        );
      },
      { maxBodyBytes: 4096 },
    )
    .post(
      '/subscribers/delete',
      async (req) => {
        const f = checkForm(req);
        const imsi = f.get('imsi') ?? '';
        return action('/', `subscriber ${imsi} deleted`, () => up.deleteSubscriber(imsi));
      },
      { maxBodyBytes: 4096 },
    )
    .post(
      '/subscribers/import',
      async (req) => {
        const f = checkForm(req);
        try {
          const r = await up.importCsv(f.get('csv') ?? '');
          return redirect(withMsg('/', `${r.imported} subscriber(s) imported`));
        } catch (err) {
          if (!(err instanceof UpstreamError)) throw err;
          return redirect(withMsg('/', `import failed: ${err.message}`, true));
        }
      },
      { maxBodyBytes: 1024 * 1024 },
    )
    .post(
      '/sessions/revoke',
      async (req) => {
        const f = checkForm(req);
        const btid = f.get('btid') ?? '';
        log.info({ event: 'console.revoke', btid }, 'revoke requested');
        return action(backOf(f), `session ${btid} revoked`, () => up.revoke(btid));
      },
      { maxBodyBytes: 4096 },
    )
    .post(
      '/device/read',
      async (req) => {
        const f = checkForm(req);
        const back = backOf(f);
        try {
          const r = await up.read(f.get('ep') ?? '', '/3/0');
          return redirect(`${back}&read=${encodeURIComponent(JSON.stringify(r, null, 2).slice(0, 4000))}`);
        } catch (err) {
          if (!(err instanceof UpstreamError)) throw err;
          return redirect(withMsg(back, `read /3/0 failed: ${err.message}`, true));
        }
      },
      { maxBodyBytes: 4096 },
    )
    .get('/events.json', async (req) => {
      try {
        return {
          status: 200,
          headers: { 'Cache-Control': 'no-store' },
          json: { items: await up.events(req.query.get('impi') || undefined, 30) },
        };
      } catch (err) {
        if (err instanceof UpstreamError)
          return {
            status: 200,
            headers: { 'Cache-Control': 'no-store' },
            json: { items: [], unavailable: err.message },
          };
        throw err;
      }
    })
    .get('/app.js', () => ({
      status: 200,
      headers: { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'no-cache' },
      body: APP_JS,
    }))
    .get('/favicon.svg', () => ({
      status: 200,
      headers: { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'max-age=86400' },
      body: FAVICON_SVG,
    }))
    .get('/favicon.ico', () => ({
      status: 200,
      headers: { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'max-age=86400' },
      body: FAVICON_SVG,
    }));
}

export async function startConsole(config: ResolvedConfig, opts: { log?: Logger } = {}): Promise<RunningConsole> {
  const ctx = nfContext('console', config);
  const log = opts.log ?? ctx.log;
  const c = config.console;
  const up = new Upstreams(c.endpointsFile ?? join(config.stateDir, 'endpoints.json'));
  const csrf = randomBytes(24).toString('base64url');
  const server = await startHttpServer({
    name: 'console',
    router: consoleRouter(up, csrf, log),
    log,
    registry: ctx.registry,
    host: c.host,
    port: c.port,
  });
  return { server, url: `${server.url}/`, close: () => server.close() };
}

export async function runConsole(config: ResolvedConfig): Promise<void> {
  const { log } = nfContext('console', config);
  const con = await startConsole(config, { log });
  runUntilSignalled(log, { console: con.url }, con.close);
}
