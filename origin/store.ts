/**
 * Channel definitions on disk (`{DATA_DIR}/channels.json`), so a restarted node brings its channels back.
 * Writes are atomic (temp file + rename) and serialised; a corrupt file stops the boot rather than being
 * silently replaced by an empty list.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A channel as the operator defined it (what survives a restart). */
export interface ChannelDefinition {
  id: string;
  input: string;
  profile: string;
  encrypt: boolean;
  watermark: boolean;
  createdAt: string;
}

export class ChannelStore {
  private readonly path: string;
  private writes: Promise<void> = Promise.resolve();

  constructor(dataDir: string) {
    this.path = join(dataDir, 'channels.json');
  }

  async load(): Promise<ChannelDefinition[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const parsed = JSON.parse(text) as { channels?: ChannelDefinition[] };
    if (!Array.isArray(parsed.channels)) throw new Error(`${this.path}: no "channels" array`);
    return parsed.channels;
  }

  /** Replaces the stored list; resolves once it is on disk. */
  save(channels: readonly ChannelDefinition[]): Promise<void> {
    const body = `${JSON.stringify({ channels }, null, 2)}\n`;
    const next = this.writes.then(async () => {
      await mkdir(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp`;
      await writeFile(tmp, body);
      await rename(tmp, this.path);
    });
    this.writes = next.catch(() => {});
    return next;
  }
}
