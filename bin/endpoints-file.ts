/** Reads endpoints.json (contract C2) for the client commands. */
import { readFileSync } from 'node:fs';
import { exitWithProblems } from './cli-util.js';
import type { Endpoints } from './network.js';

const DEFAULT_ENDPOINTS = './.gba-sim/endpoints.json';

export function readEndpoints(file = DEFAULT_ENDPOINTS): Endpoints {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Endpoints;
  } catch (err) {
    return exitWithProblems([
      `${file}: ${(err as Error).message} — run \`gba-sim up\` first, or pass --endpoints FILE`,
    ]);
  }
}
