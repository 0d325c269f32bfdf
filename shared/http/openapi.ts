/**
 * Serving an NF's OpenAPI document (OpenAPI 3.0.3 §4.7.5 Server Object): the file in the repository names the
 * default ports; the served copy names the URLs this process really listens on (--base-port, port 0, --host).
 */

import type { HttpResponse } from './server.js';

export interface ServerEntry {
  url: string;
  description?: string;
}

/** Replaces the top-level `servers:` block of an OpenAPI YAML document (or adds one before `paths:`). */
export function withServers(yaml: string, servers: readonly ServerEntry[]): string {
  const block = `servers:\n${servers.map((s) => `  - url: ${s.url}\n${s.description ? `    description: ${s.description}\n` : ''}`).join('')}`;
  const existing = /^servers:\n(?:[ \t]+.*\n|\n)*/m;
  if (existing.test(yaml)) return yaml.replace(existing, block);
  return /^paths:/m.test(yaml)
    ? yaml.replace(/^paths:/m, `${block}paths:`)
    : `${yaml}${yaml.endsWith('\n') ? '' : '\n'}${block}`;
}

/** A route handler serving the document with `servers` from `servers()`, computed on first use (after listen). */
export function openapiHandler(yaml: string, servers: () => readonly ServerEntry[]): () => HttpResponse {
  let body: string | undefined;
  return () => ({
    status: 200,
    headers: { 'Content-Type': 'application/yaml' },
    body: (body ??= withServers(yaml, servers())),
  });
}
