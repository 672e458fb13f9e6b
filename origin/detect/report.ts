/**
 * The detector's answer, for a person (text) or a program (JSON). "No watermark found" is said plainly,
 * with the best candidate's score so an operator sees how far from a match it was.
 */
import type { DetectOptions, DetectResult } from '../detect.ts';
import type { CandidateScore } from './decide.ts';

/** A probability given as its log10, e.g. `3.2e-22`. */
export function formatChance(log10: number): string {
  if (log10 === Number.NEGATIVE_INFINITY) return '0';
  if (log10 > -3) return (10 ** log10).toPrecision(2);
  const exp = Math.floor(log10);
  return `${(10 ** (log10 - exp)).toFixed(1)}e${exp}`;
}

function describeScore(s: CandidateScore): string {
  return `${s.agree} of ${s.of} code positions agree; chance for an unrelated account ≤ ${formatChance(s.log10Chance)}`;
}

function describeRecording(r: DetectResult): string {
  const rec = r.recording;
  if (!rec) return '';
  if (rec.kind === 'segments') {
    const first = rec.segments[0]?.seq;
    const last = rec.segments.at(-1)?.seq;
    return `${rec.path}: ${rec.segments.length} segment files (${first}…${last})`;
  }
  return `${rec.path}: one recording, ${rec.segmentSeconds} s segments, ${rec.bases.length} alignments tried (playlist ${rec.playlist})`;
}

export function renderText(r: DetectResult, opts: DetectOptions): string {
  const lines = [`recording  ${describeRecording(r) || opts.recording}`, `channel    ${opts.channel}`];
  const v = r.verdict;
  if (v) lines.push(`judged     ${v.judged} segments`);
  if (v?.named) lines.push(`account    ${v.named.sub} (${describeScore(v.named)})`);
  if (v?.recovered) {
    const who = v.recovered.sub ? ` = ${v.recovered.sub}` : ' (no candidate has this code)';
    const ecc = `Reed-Solomon corrected ${v.recovered.errors} error(s), filled ${v.recovered.erasures} missing symbol(s)`;
    lines.push(`code       ${v.recovered.code}${opts.candidates.length ? who : ''} (${ecc})`);
  }
  if (!v?.named && !v?.recovered) {
    const why = [r.reason];
    if (v?.best) why.push(`best candidate ${v.best.sub}: ${describeScore(v.best)}`);
    if (v) why.push('no account code could be decoded');
    lines.push(`no watermark found: ${why.filter(Boolean).join('; ')}`);
  }
  return `${lines.join('\n')}\n`;
}

export function renderJson(r: DetectResult, opts: DetectOptions) {
  const v = r.verdict;
  const score = (s: CandidateScore | undefined) =>
    s && {
      sub: s.sub,
      agree: s.agree,
      of: s.of,
      log10Chance: s.log10Chance,
      chance: formatChance(s.log10Chance),
    };
  return {
    found: Boolean(v?.named || v?.recovered),
    account: v?.named?.sub ?? v?.recovered?.sub ?? null,
    code: v?.recovered?.code ?? null,
    channel: opts.channel,
    recording: summary(r, opts),
    judged: v?.judged ?? 0,
    firstSequence: r.recording?.kind === 'file' ? v?.base : undefined,
    named: score(v?.named) ?? null,
    bestCandidate: score(v?.best) ?? null,
    recovered: v?.recovered ?? null,
    reason: r.reason ?? null,
  };
}

function summary(r: DetectResult, opts: DetectOptions) {
  const rec = r.recording;
  if (!rec) return { path: opts.recording };
  if (rec.kind === 'file') {
    const { kind, path, playlist, segmentSeconds, bases } = rec;
    return { kind, path, playlist, segmentSeconds, alignments: bases.length };
  }
  return {
    kind: rec.kind,
    path: rec.path,
    files: rec.segments.length,
    first: rec.segments[0]?.seq ?? null,
    last: rec.segments.at(-1)?.seq ?? null,
  };
}
