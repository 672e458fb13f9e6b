/**
 * Stress streams as channels on an origin node, through its operator API: each stream is a
 * `POST /v1/channels`, one `GET /v1/channels` per tick reads them all, and the end (or Ctrl-C) deletes every
 * channel this run created. The node applies its own start queue and capacity admission, so this measures
 * the node as operators run it; a refusal (409 capacity_exceeded, with the node's figures) is a start failure.
 */
import { mkdirSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ProcessCpuMeter } from './proc-stats.ts';
import { type Fleet, newStreamState, type StreamSample, type StreamState } from './stress-types.ts';

export interface ApiFleetOptions {
  nodeUrl: string;
  apiKey: string;
  ids: string[];
  inputs: string[];
  profile: string;
  outDir: string;
  /** the node runs on this host, so its ffmpeg pids can be measured in /proc */
  local: boolean;
}

interface ChannelView {
  id: string;
  state: string;
  encoder: string;
  pid: number | null;
  startedAt: string | null;
  fps: number | null;
  outTime: number | null;
  dropFrames: number | null;
  dupFrames: number | null;
  restarts: number;
  lastError: { message: string } | null;
  segmentsPublished: number;
}

const orUndefined = (n: number | null | undefined) => (n === null || n === undefined ? undefined : n);

export class ApiFleet implements Fleet {
  readonly streams: StreamState[];
  private readonly opts: ApiFleetOptions;
  private readonly created = new Set<number>();
  private readonly posts: Promise<void>[] = [];
  private readonly meters = new Map<number, ProcessCpuMeter>();
  private stopping = false;

  constructor(opts: ApiFleetOptions) {
    this.opts = { ...opts, nodeUrl: opts.nodeUrl.replace(/\/+$/, '') };
    mkdirSync(join(opts.outDir, 'streams'), { recursive: true });
    this.streams = opts.ids.map((id, i) => newStreamState(i, id, join(opts.outDir, 'streams', `${id}.log`)));
  }

  private api(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.opts.nodeUrl}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${this.opts.apiKey}`, 'content-type': 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
  }

  private log(st: StreamState, event: Record<string, unknown>): Promise<void> {
    return appendFile(st.log, `${JSON.stringify({ at: new Date().toISOString(), ...event })}\n`);
  }

  launch(index: number, releasedAt: number): void {
    const st = this.streams[index]!;
    if (this.stopping) return;
    st.launchedAt = releasedAt;
    const body = { id: st.id, input: this.opts.inputs[index]!, profile: this.opts.profile, encrypt: false };
    this.posts.push(
      (async () => {
        try {
          const res = await this.api('/v1/channels', { method: 'POST', body: JSON.stringify(body) });
          const answer = (await res.json().catch(() => ({}))) as Record<string, unknown>;
          await this.log(st, { event: 'POST /v1/channels', status: res.status, body: answer });
          if (res.status === 202) {
            this.created.add(index);
            st.encoder = String(answer.encoder ?? '');
          } else {
            const figures = answer.capacity ? ` ${JSON.stringify(answer.capacity)}` : '';
            st.failure = `refused by the node: ${res.status} ${answer.error ?? ''} ${answer.message ?? ''}${figures}`;
          }
        } catch (err) {
          st.failure = `POST /v1/channels failed: ${(err as Error).message}`;
          await this.log(st, { event: 'POST /v1/channels', error: (err as Error).message });
        }
      })(),
    );
  }

  async sample(now: number): Promise<void> {
    if (this.created.size === 0) return;
    let views: ChannelView[];
    try {
      const res = await this.api('/v1/channels');
      views = ((await res.json()) as { channels: ChannelView[] }).channels;
    } catch {
      return; // a missed tick; the next one reads again
    }
    await Promise.all(
      [...this.created].map(async (index) => {
        const st = this.streams[index]!;
        const v = views.find((c) => c.id === st.id);
        if (!v) return;
        if (st.startedAt === null && v.startedAt) st.startedAt = Date.parse(v.startedAt);
        st.pid = v.pid;
        st.segments = v.segmentsPublished;
        if (st.firstFrameAt === null && (v.outTime ?? 0) > 0) st.firstFrameAt = now;
        if (v.restarts > st.restarts) {
          st.restarts = v.restarts;
          st.failure ??= `restarted by the node: ${v.lastError?.message ?? 'no reason given'}`;
        }
        let cpuCores: number | undefined;
        if (this.opts.local && v.pid) {
          if (!this.meters.has(v.pid)) this.meters.set(v.pid, new ProcessCpuMeter(v.pid));
          cpuCores = await this.meters.get(v.pid)!.read(now);
        }
        const sample: StreamSample = { at: now, state: v.state };
        const put = <K extends keyof StreamSample>(k: K, x: StreamSample[K] | undefined) => {
          if (x !== undefined) sample[k] = x;
        };
        put('fps', orUndefined(v.fps));
        put('outTime', orUndefined(v.outTime));
        put('dropFrames', orUndefined(v.dropFrames));
        put('dupFrames', orUndefined(v.dupFrames));
        put('cpuCores', cpuCores);
        st.samples.push(sample);
        await this.log(st, { event: 'sample', view: v });
      }),
    );
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.posts);
    await Promise.all(
      [...this.created].map(async (index) => {
        const st = this.streams[index]!;
        const res = await this.api(`/v1/channels/${st.id}`, { method: 'DELETE' }).catch((err: Error) => err);
        await this.log(st, {
          event: 'DELETE /v1/channels',
          ...(res instanceof Error ? { error: res.message } : { status: res.status }),
        });
      }),
    );
  }
}
