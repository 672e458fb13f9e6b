/**
 * Operator API (SPEC §7): `/v1/channels` and `/v1/capacity`, behind `Authorization: Bearer <OPERATOR_API_KEY>`.
 * Keys are compared in constant time against every configured key (several during a rotation).
 */
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { ApiError } from '../src/errors.ts';
import { parseChannelRequest, redactInput } from './channel-request.ts';
import type { ChannelManager } from './channels.ts';
import { isKnownKey } from './safe-equal.ts';
import type { ChannelSupervisor } from './supervisor.ts';

const MAX_BODY_BYTES = 16 * 1024;

export function channelView(sup: ChannelSupervisor, manager: ChannelManager) {
  const p = sup.progress;
  const finite = (n: number | undefined) => (n !== undefined && Number.isFinite(n) ? n : null);
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    id: sup.def.id,
    input: redactInput(sup.def.input),
    profile: sup.def.profile,
    encrypt: sup.def.encrypt,
    watermark: sup.def.watermark,
    createdAt: sup.def.createdAt,
    state: sup.state,
    queuePosition: manager.queue.position(sup.def.id) ?? null,
    encoder: manager.encoder,
    pid: sup.pid ?? null,
    startedAt: iso(sup.startedAt),
    fps: finite(p?.fps),
    speed: finite(p?.speed),
    dropFrames: finite(p?.dropFrames),
    dupFrames: finite(p?.dupFrames),
    outTime: finite(p?.outTime),
    restarts: sup.restarts,
    lastError: sup.lastError ?? null,
    currentSequence: sup.lastSequence ?? null,
    segmentsPublished: sup.segments,
    lastSegmentAt: iso(sup.lastSegmentAt),
    playlist: `/live/${sup.def.id}/index.m3u8`,
  };
}

export function operatorApi(opts: {
  manager: ChannelManager;
  apiKeys: readonly string[];
  allowFileInput: boolean;
}) {
  const { manager } = opts;
  const api = new Hono();

  api.use('*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer ([^\s]+)$/.exec(header);
    if (!m || !isKnownKey(m[1]!, opts.apiKeys)) {
      throw new ApiError('unauthorized', undefined, { headers: { 'www-authenticate': 'Bearer' } });
    }
    await next();
  });

  api.post(
    '/channels',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new ApiError('payload_too_large', `body: larger than ${MAX_BODY_BYTES} bytes`);
      },
    }),
    async (c) => {
      if (!/^application\/json\b/i.test(c.req.header('content-type') ?? '')) {
        throw new ApiError('bad_request', 'body: content-type must be application/json', {
          details: { field: 'body' },
        });
      }
      let raw: unknown;
      try {
        raw = JSON.parse(await c.req.text());
      } catch {
        throw new ApiError('bad_request', 'body: not valid JSON', { details: { field: 'body' } });
      }
      const req = parseChannelRequest(raw, { allowFileInput: opts.allowFileInput });
      await manager.create(req);
      const sup = manager.get(req.id)!;
      c.header('location', `/v1/channels/${req.id}`);
      return c.json(channelView(sup, manager), 202);
    },
  );

  api.get('/channels', (c) =>
    c.json({
      channels: manager.list().map((s) => channelView(s, manager)),
      queue: manager.queueOrder(),
    }),
  );

  api.get('/channels/:id', (c) => {
    const sup = manager.get(c.req.param('id'));
    if (!sup) throw new ApiError('not_found', 'no such channel');
    return c.json(channelView(sup, manager));
  });

  api.delete('/channels/:id', async (c) => {
    if (!(await manager.remove(c.req.param('id')))) throw new ApiError('not_found', 'no such channel');
    return c.body(null, 204);
  });

  api.get('/capacity', (c) => c.json(manager.capacityView()));

  for (const path of ['/channels', '/channels/:id', '/capacity']) {
    api.all(path, () => {
      throw new ApiError('method_not_allowed');
    });
  }
  return api;
}
