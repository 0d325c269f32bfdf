/**
 * Server-rendered HTML for the console: plain forms and links (work with the keyboard and without script),
 * one small script (/app.js) for expiry countdowns and the live event list. Every value is escaped.
 */
import type { Client, DeviceEvent, Session, Subscriber } from './upstream.js';

export const esc = (v: unknown): string =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

const CSS = `
:root{font-family:system-ui,sans-serif;color:#1b1b1b;background:#fafafa}
body{margin:0 auto;max-width:1200px;padding:0 1rem 2rem}
header{display:flex;align-items:baseline;gap:1rem;border-bottom:2px solid #0b5394;margin-bottom:1rem}
header h1{font-size:1.3rem;margin:.6rem 0;color:#0b5394}
nav a{margin-right:1rem}
h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 2rem}
@media (max-width:900px){.grid{grid-template-columns:1fr}}
table{border-collapse:collapse;width:100%;font-size:.9rem;background:#fff}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
th{background:#eef3f8}
code,.mono{font-family:ui-monospace,monospace;font-size:.85rem;word-break:break-all}
form.inline{display:inline}
button{font:inherit;padding:.2rem .7rem;border:1px solid #0b5394;background:#fff;color:#0b5394;border-radius:3px;cursor:pointer}
button.danger{border-color:#a61c00;color:#a61c00}
button:focus-visible,a:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid #f1c232;outline-offset:1px}
label{display:block;font-size:.85rem;margin:.3rem 0 .1rem}
input,textarea{font:inherit;padding:.2rem;width:100%;box-sizing:border-box}
fieldset{border:1px solid #ccc;background:#fff;margin:.5rem 0}
.msg{padding:.5rem;border-left:4px solid #0b5394;background:#eef3f8}
.err{border-color:#a61c00;background:#fbeaea}
.ok{color:#1e7b34}.fail{color:#a61c00;font-weight:600}
.muted{color:#666}
.nowrap{white-space:nowrap;word-break:normal}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;

export function layout(title: string, body: string, msg?: { text: string; error: boolean }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} — gba-sim console</title><link rel="icon" href="/favicon.svg" type="image/svg+xml"><style>${CSS}</style></head>
<body><header><h1>gba-sim console</h1><nav aria-label="main"><a href="/">Overview</a><a href="/#subscribers">Subscribers</a><a href="/#sessions">Sessions</a><a href="/#clients">LwM2M clients</a><a href="/#events">Events</a></nav></header>
<main>${msg ? `<p class="msg${msg.error ? ' err' : ''}" role="${msg.error ? 'alert' : 'status'}">${esc(msg.text)}</p>` : ''}${body}</main>
<script src="/app.js" defer></script></body></html>`;
}

const outcomeCell = (o: string) => `<span class="${o === 'ok' ? 'ok' : 'fail'}">${esc(o)}</span>`;

export function eventsTable(events: DeviceEvent[], id = 'events-body'): string {
  return `<table><caption class="muted">newest first</caption><thead><tr><th scope="col">time</th><th scope="col">device (IMPI)</th><th scope="col">outcome</th><th scope="col">reason</th></tr></thead>
<tbody id="${id}" aria-live="polite">${events.map(eventRow).join('') || '<tr><td colspan="4" class="muted">no events yet</td></tr>'}</tbody></table>`;
}

const eventRow = (e: DeviceEvent) =>
  `<tr><td><time datetime="${esc(e.at)}">${esc(e.at.slice(11, 19))}</time></td><td class="mono">${esc(e.impi)}</td><td>${outcomeCell(e.outcome)}</td><td>${esc(e.reason)}</td></tr>`;

export function sessionsTable(sessions: Session[], csrf: string, back: string): string {
  if (!sessions.length) return '<p class="muted">no live sessions</p>';
  return `<table><thead><tr><th scope="col">IMPI</th><th scope="col">B-TID</th><th scope="col">expires in</th><th scope="col"><span class="visually-hidden">action</span></th></tr></thead><tbody>${sessions
    .map(
      (s) =>
        `<tr><td class="mono">${esc(s.impi)}</td><td class="mono">${esc(s.btid)}</td><td><span data-expires="${esc(s.expiresAt)}">${esc(s.expiresAt)}</span></td>
<td><form class="inline" method="post" action="/sessions/revoke"><input type="hidden" name="csrf" value="${esc(csrf)}"><input type="hidden" name="btid" value="${esc(s.btid)}"><input type="hidden" name="back" value="${esc(back)}">
<button class="danger" type="submit" aria-label="Revoke session ${esc(s.btid)}">Revoke</button></form></td></tr>`,
    )
    .join('')}</tbody></table>`;
}

export function clientsTable(clients: Client[]): string {
  if (!clients.length) return '<p class="muted">no registered clients</p>';
  return `<table><thead><tr><th scope="col">endpoint</th><th scope="col">transport</th><th scope="col">LwM2M</th><th scope="col">last update</th></tr></thead><tbody>${clients
    .map(
      (c) =>
        `<tr><td class="mono"><a href="/device?ep=${encodeURIComponent(c.endpoint)}">${esc(c.endpoint)}</a></td><td>${esc(c.transport ?? '')}</td><td>${esc(c.lwm2mVersion ?? '')}</td><td><time datetime="${esc(c.lastUpdate)}">${esc(c.lastUpdate ?? '')}</time></td></tr>`,
    )
    .join('')}</tbody></table>`;
}

export function subscribersSection(subs: { items: Subscriber[]; total: number }, csrf: string): string {
  const rows = subs.items
    .map(
      (
        s,
      ) => `<tr><td class="mono nowrap"><a href="/device?imsi=${encodeURIComponent(s.imsi)}">${esc(s.imsi)}</a></td><td class="mono">${esc(s.impi)}</td><td>${esc(s.algorithm)}</td>
<td><form class="inline" method="post" action="/subscribers/delete"><input type="hidden" name="csrf" value="${esc(csrf)}"><input type="hidden" name="imsi" value="${esc(s.imsi)}"><button class="danger" type="submit" aria-label="Delete subscriber ${esc(s.imsi)}">Delete</button></form></td></tr>`,
    )
    .join('');
  return `<table><caption class="muted">${subs.total} subscriber(s)${subs.total > subs.items.length ? `, first ${subs.items.length} shown` : ''}</caption>
<thead><tr><th scope="col">IMSI</th><th scope="col">IMPI</th><th scope="col">algorithm</th><th scope="col"><span class="visually-hidden">action</span></th></tr></thead><tbody>${rows || '<tr><td colspan="4" class="muted">none provisioned</td></tr>'}</tbody></table>
<div class="grid"><form method="post" action="/subscribers"><fieldset><legend>Add a subscriber</legend><input type="hidden" name="csrf" value="${esc(csrf)}">
<label for="imsi">IMSI</label><input id="imsi" name="imsi" required pattern="[0-9]{6,15}" inputmode="numeric" autocomplete="off">
<label for="k">K (32 hex digits)</label><input id="k" name="k" required pattern="[0-9a-fA-F]{32}" autocomplete="off">
<label for="opc">OPc (32 hex digits)</label><input id="opc" name="opc" required pattern="[0-9a-fA-F]{32}" autocomplete="off">
<p><button type="submit">Add subscriber</button></p></fieldset></form>
<form method="post" action="/subscribers/import"><fieldset><legend>Import a CSV</legend><input type="hidden" name="csrf" value="${esc(csrf)}">
<label for="csv">CSV (header <code>imsi,k,opc</code>, as for <code>gba-sim subscriber import</code>)</label><textarea id="csv" name="csv" rows="5" required></textarea>
<p><button type="submit">Import</button></p></fieldset></form></div>`;
}

/** The one bit of script: expiry countdowns, and the live event list (polls /events.json every 2 s). */
export const APP_JS = `
(() => {
  const fmt = (ms) => { if (ms <= 0) return 'expired'; const s = Math.floor(ms / 1000); const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60); return (h ? h + ' h ' : '') + m + ' min ' + (s % 60) + ' s'; };
  const tick = () => { for (const el of document.querySelectorAll('[data-expires]')) el.textContent = fmt(Date.parse(el.dataset.expires) - Date.now()); };
  tick(); setInterval(tick, 1000);
  const body = document.getElementById('events-body');
  if (!body) return;
  const q = body.dataset.impi ? '?impi=' + encodeURIComponent(body.dataset.impi) : '';
  const cell = (text, cls) => { const td = document.createElement('td'); td.textContent = text; if (cls) td.className = cls; return td; };
  const poll = async () => {
    try {
      const r = await fetch('/events.json' + q, { headers: { accept: 'application/json' } });
      if (!r.ok) return;
      const { items } = await r.json();
      if (!items.length) return;
      body.replaceChildren(...items.map((e) => { const tr = document.createElement('tr'); tr.append(cell(e.at.slice(11, 19)), cell(e.impi, 'mono'), cell(e.outcome, e.outcome === 'ok' ? 'ok' : 'fail'), cell(e.reason)); return tr; }));
    } catch { /* the console is restarting: try again on the next tick */ }
  };
  setInterval(poll, 2000);
})();
`;

export const FAVICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#0b5394"/><text x="8" y="12" font-size="10" text-anchor="middle" fill="#fff" font-family="sans-serif">G</text></svg>';
