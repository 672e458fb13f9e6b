/**
 * The bytes every subject serves: one channel `demo` laid out the way an origin node writes it
 * (`{root}/live/demo/index.m3u8` and `{seq}.ts`), so the origin nginx, the bare Hono route and the
 * Fastify peer serve identical objects. The folder is world-readable because nginx workers running as
 * `nobody` read it (NOTES.md).
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHANNEL = 'demo';

/** Objects by role: 1 KB (playlist/key sized), 64 KB and 2 MB segments. */
export const OBJECTS = {
  small: { name: '10.ts', bytes: 1024 },
  medium: { name: '20.ts', bytes: 64 * 1024 },
  large: { name: '30.ts', bytes: 2 * 1024 * 1024 },
} as const;
export type ObjectRole = keyof typeof OBJECTS;

/** The live playlist the simulated players follow: 2 s segments of 64 KB (a 256 kbit/s rendition). */
export const PLAYLIST = 'index.m3u8';
const LIVE_SEGMENTS = [40, 41, 42, 43, 44];
const LIVE_SEGMENT_BYTES = 64 * 1024;

export function objectPath(role: ObjectRole | 'playlist'): string {
  return `/live/${CHANNEL}/${role === 'playlist' ? PLAYLIST : OBJECTS[role].name}`;
}

export interface BenchData {
  /** DATA_DIR of an origin: objects live under `{root}/live/{channel}/` */
  root: string;
  remove(): Promise<void>;
}

export async function writeBenchData(): Promise<BenchData> {
  const root = await mkdtemp(join(tmpdir(), 'bench-data-'));
  const dir = join(root, 'live', CHANNEL);
  await mkdir(dir, { recursive: true });
  for (const d of [root, join(root, 'live'), dir]) await chmod(d, 0o755);
  const files: [string, Uint8Array | string][] = Object.values(OBJECTS).map((o) => [
    o.name,
    randomBytes(o.bytes),
  ]);
  for (const seq of LIVE_SEGMENTS) files.push([`${seq}.ts`, randomBytes(LIVE_SEGMENT_BYTES)]);
  files.push([PLAYLIST, livePlaylist()]);
  for (const [name, content] of files) await writeFile(join(dir, name), content, { mode: 0o644 });
  return { root, remove: () => rm(root, { recursive: true, force: true }) };
}

function livePlaylist(): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-TARGETDURATION:2',
    `#EXT-X-MEDIA-SEQUENCE:${LIVE_SEGMENTS[0]}`,
  ];
  for (const seq of LIVE_SEGMENTS) lines.push('#EXTINF:2.000,', `${seq}.ts`);
  return `${lines.join('\n')}\n`;
}

/** Every object of the channel, by URL path, for subjects that serve from memory. */
export async function loadObjects(root: string): Promise<Map<string, Buffer>> {
  const dir = join(root, 'live', CHANNEL);
  const out = new Map<string, Buffer>();
  for (const name of await readdir(dir)) out.set(`/live/${CHANNEL}/${name}`, await readFile(join(dir, name)));
  return out;
}
