/** Loads the JSON test vectors under test/vectors/ (paths resolved from this file, not the working directory). */
import { readFileSync } from 'node:fs';

export function loadVector<T>(name: string): T {
  const v = JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as T & { source?: string };
  if (!v.source) throw new Error(`${name}: vector file without source`);
  return v;
}

export interface MilenageSet {
  set: number;
  k: string;
  rand: string;
  sqn: string;
  amf: string;
  op: string;
  opc: string;
  mac_a: string;
  mac_s: string;
  res: string;
  ck: string;
  ik: string;
  ak: string;
  ak_star: string;
  autn: string;
}
export const milenageSets = (): MilenageSet[] => loadVector<{ sets: MilenageSet[] }>('ts35208-milenage.json').sets;

export const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
