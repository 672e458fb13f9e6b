/**
 * Single byte ranges (RFC 9110 §14) for objects the gateway holds in full. Players ask for one range at a
 * time; a multi-range request is answered with the whole object (allowed by the RFC), an unknown unit is
 * ignored, and a malformed or unsatisfiable `bytes=` range is a 416.
 */
export type RangeRequest =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

const FULL: RangeRequest = { kind: 'full' };
const UNSATISFIABLE: RangeRequest = { kind: 'unsatisfiable' };

export function parseRange(header: string | null | undefined, size: number): RangeRequest {
  if (!header) return FULL;
  const m = /^\s*bytes\s*=\s*(.*)$/i.exec(header);
  if (!m) return FULL;
  const spec = (m[1] as string).trim();
  if (spec.includes(',')) return FULL;
  const first = /^(\d{1,15})\s*-\s*(\d{0,15})$/.exec(spec);
  if (first) {
    const start = Number(first[1]);
    const last = first[2] === '' ? size - 1 : Number(first[2]);
    if (start >= size || last < start) return UNSATISFIABLE;
    return { kind: 'partial', start, end: Math.min(last, size - 1) };
  }
  const suffix = /^-\s*(\d{1,15})$/.exec(spec);
  if (suffix) {
    const n = Number(suffix[1]);
    if (n === 0 || size === 0) return UNSATISFIABLE;
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  return UNSATISFIABLE;
}

/** `If-Range`: the range applies only while the validator still names this representation. */
export function ifRangeHolds(
  ifRange: string | null,
  etag: string,
  lastModified: string | undefined,
): boolean {
  if (!ifRange) return true;
  const v = ifRange.trim();
  if (v.startsWith('"')) return v === etag;
  return lastModified !== undefined && v === lastModified;
}

/** True when `If-None-Match` names this ETag (weak comparison, as the RFC prescribes for this header). */
export function ifNoneMatchHits(ifNoneMatch: string | null, etag: string): boolean {
  if (!ifNoneMatch) return false;
  const bare = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((t) => {
    const tag = t.trim();
    return tag === '*' || tag.replace(/^W\//, '') === bare;
  });
}
