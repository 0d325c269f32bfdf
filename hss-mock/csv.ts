/**
 * CSV bulk import (RFC 4180): a header row naming columns out of
 * imsi,k,opc,op,amf,sqn,algorithm,resLength,impi — then one subscriber per row. Empty cells are absent values.
 */
import { InputError } from '../shared/errors.js';

const COLUMNS = new Set(['imsi', 'k', 'opc', 'op', 'amf', 'sqn', 'algorithm', 'resLength', 'impi']);

function parseRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [],
    cell = '',
    i = 0,
    quoted = false;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (c === '"') {
        quoted = false;
        i++;
        continue;
      }
      cell += c;
      i++;
      continue;
    }
    if (c === '"' && cell === '') {
      quoted = true;
      i++;
      continue;
    }
    if (c === ',') {
      row.push(cell);
      cell = '';
      i++;
      continue;
    }
    if (c === '\r' || c === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    cell += c;
    i++;
  }
  if (quoted) throw new InputError('CSV: unterminated quoted cell');
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

export function parseSubscriberCsv(text: string): Array<{ line: number; imsi: string; doc: Record<string, unknown> }> {
  const rows = parseRows(text.replace(/^\uFEFF/, ''));
  if (!rows.length) throw new InputError('CSV: empty');
  const header = rows[0]!.map((h) => h.trim());
  const unknown = header.filter((h) => !COLUMNS.has(h));
  if (unknown.length)
    throw new InputError(`CSV: unknown column(s) ${unknown.join(', ')}; known: ${[...COLUMNS].join(', ')}`);
  if (!header.includes('imsi') || !header.includes('k'))
    throw new InputError('CSV: the header must name at least imsi and k');
  return rows.slice(1).map((cells, n) => {
    if (cells.length !== header.length)
      throw new InputError(`CSV line ${n + 2}: ${cells.length} cells, the header has ${header.length}`);
    const doc: Record<string, unknown> = {};
    header.forEach((h, j) => {
      const v = cells[j]!.trim();
      if (v === '') return;
      doc[h] = h === 'resLength' && /^\d+$/.test(v) ? Number(v) : v;
    });
    return { line: n + 2, imsi: String(doc.imsi ?? ''), doc };
  });
}
