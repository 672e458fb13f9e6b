/** Plain-text tables for terminals and logs: columns padded to their widest cell, numbers right-aligned. */

export type Cell = string | number | null | undefined;

function text(c: Cell): string {
  if (c === null || c === undefined) return '–';
  return typeof c === 'number' ? String(c) : c;
}

/** numbers, optionally with a unit suffix such as 12.5 %, 0.98x, $1,200 or 20.0 Gbps; or the empty mark */
const NUMERIC = /^(–|[-+$]?[\d,]+(\.\d+)?( ?[%x]| [A-Za-z/]+)?)$/;

export function renderTable(headers: string[], rows: Cell[][]): string {
  const cells = rows.map((r) => headers.map((_, i) => text(r[i])));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const numeric = headers.map((_, i) => cells.length > 0 && cells.every((r) => NUMERIC.test(r[i]!)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Fixed decimals for display; null stays null (shown as –). */
export function fixed(n: number | null | undefined, digits: number): string | null {
  return n === null || n === undefined || !Number.isFinite(n) ? null : n.toFixed(digits);
}
