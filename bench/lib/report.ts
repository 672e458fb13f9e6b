/**
 * The bench's one table: a row per measure, with what it was compared with in the same run, the ratio,
 * the target and whether it was met. Printed as a Markdown table (aligned, so it reads in a terminal and
 * pastes into docs/benchmark.md) and written with every raw number to bench/results/<timestamp>.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Row {
  id: string;
  /** what is measured */
  measure: string;
  /** the measured value, formatted with its unit */
  value: string;
  /** what it is compared with, and that baseline's value; '—' when absolute */
  baseline: string;
  ratio?: number | undefined;
  target: string;
  /** undefined: not judged (nothing to judge against) */
  met: boolean | undefined;
  /** why a target was missed, or what else the reader needs */
  note?: string;
  /** every number behind the row, for the JSON file */
  raw?: unknown;
}

const RESULTS_DIR = fileURLToPath(new URL('../results/', import.meta.url));

export const fmt = {
  reqs: (x: number) => `${Math.round(x).toLocaleString('en-US')} req/s`,
  gbps: (bytesPerSec: number) => `${(bytesPerSec / 1e9).toFixed(2)} GB/s`,
  ratio: (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '' : `${x.toFixed(2)}×`),
  ms: (x: number) => `${x < 10 ? x.toFixed(2) : x.toFixed(0)} ms`,
  mb: (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`,
  cpu: (usPerRequest: number) =>
    usPerRequest < 1000
      ? `${Math.round(usPerRequest)} µs CPU/req`
      : `${(usPerRequest / 1000).toFixed(1)} ms CPU/req`,
};

export function formatTable(rows: Row[]): string {
  const header = ['row', 'measured', 'value', 'compared with (same run)', 'ratio', 'target', 'met'];
  const cells = rows.map((r) => [
    r.id,
    r.measure,
    r.value,
    r.baseline,
    fmt.ratio(r.ratio),
    r.target,
    r.met === undefined ? '—' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const out = [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)];
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.id}: ${r.note}`);
  return notes.length ? `${out.join('\n')}\n\n${notes.join('\n')}` : out.join('\n');
}

export async function writeResults(result: {
  startedAt: Date;
  rows: Row[];
  [k: string]: unknown;
}): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${result.startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
