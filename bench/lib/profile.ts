/**
 * Reads a V8 `.cpuprofile` (from `node --cpu-prof`) and says where the time went: the top functions by
 * self time, and self time grouped by where the code lives (our src/ folders, a package, Node internals,
 * GC), each as a share of the busy (non-idle) time.
 *
 *   node bench/lib/profile.ts /tmp/edge-gateway-bench-profiles/<run>/memory.cpuprofile [top]
 */
import { readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileShare {
  name: string;
  ms: number;
  /** share of busy time */
  share: number;
}

export interface ProfileSummary {
  busyMs: number;
  idleMs: number;
  /** by self time */
  functions: ProfileShare[];
  /** self time by where the code lives */
  areas: ProfileShare[];
  /** our own functions (src/) by inclusive time: themselves and everything they called */
  ours: ProfileShare[];
}

const REPO = fileURLToPath(new URL('../..', import.meta.url));

export async function summarizeProfile(file: string, top = 20): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  const ours = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const fn = frameName(frame);
    fns.set(fn, (fns.get(fn) ?? 0) + us);
    const area = areaOf(frame.url, frame.functionName);
    areas.set(area, (areas.get(area) ?? 0) + us);
    // inclusive time: each of our functions on this stack, once however deep the recursion
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (f && location(f.url).startsWith('src/')) seen.add(frameName(f));
    }
    for (const name of seen) ours.set(name, (ours.get(name) ?? 0) + us);
  }
  const ranked = (m: Map<string, number>, n: number): ProfileShare[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busyUs ? us / busyUs : 0 }));
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    functions: ranked(fns, top),
    areas: ranked(areas, 15),
    ours: ranked(ours, top),
  };
}

function frameName(frame: ProfileNode['callFrame']): string {
  const where = location(frame.url);
  return `${frame.functionName || '(anonymous)'}${where ? ` ${where}:${frame.lineNumber + 1}` : ''}`;
}

function location(url: string): string {
  if (!url) return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  return path.startsWith(REPO) ? relative(REPO, path) : path;
}

/** src/auth, src/sessions…; a package name; node: internals; or the VM's own entries ((garbage collector)…). */
function areaOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const path = location(url);
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1] as string;
  if (path.startsWith('node:')) return `node:${path.slice(5).split('/')[0]}`;
  const parts = path.split('/');
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : (parts[0] ?? path);
}

export function formatProfile(title: string, s: ProfileSummary): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)} %`;
  const lines = [
    `${title}: ${s.busyMs.toFixed(0)} ms busy, ${s.idleMs.toFixed(0)} ms idle`,
    '  by area (self time):',
  ];
  for (const a of s.areas) lines.push(`    ${pct(a.share)}  ${a.name}`);
  lines.push('  top functions (self time):');
  for (const f of s.functions) lines.push(`    ${pct(f.share)}  ${f.name}`);
  lines.push('  our functions (inclusive time):');
  for (const f of s.ours) lines.push(`    ${pct(f.share)}  ${f.name}`);
  return lines.join('\n');
}

if (import.meta.main) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/lib/profile.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(formatProfile(file, await summarizeProfile(file, Number(top ?? 25))));
}
