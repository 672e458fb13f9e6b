/**
 * The origin node's HTTP app: operator API, HLS objects, health, readiness and metrics. Built from its
 * collaborators (no process.env here), so tests drive it with `app.request()`.
 */
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { ApiError, errorResponse } from '../src/errors.ts';
import { errorFields, type Logger } from '../src/log.ts';
import type { ChannelManager } from './channels.ts';
import type { OriginConfig } from './config.ts';
import { liveRoutes } from './live.ts';
import type { OriginMetrics } from './metrics.ts';
import { operatorApi } from './operator-api.ts';

export interface OriginAppDeps {
  config: OriginConfig;
  manager: ChannelManager;
  metrics: OriginMetrics;
  logger: Logger;
  /** false while the node shuts down (its channels are being stopped) */
  ready: () => boolean;
}

export function createOriginApp(deps: OriginAppDeps) {
  const { config, metrics } = deps;
  const app = new Hono<{ Variables: { requestId: string } }>();

  app.use('*', requestId());
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    // route pattern, never the raw path (bounded label values)
    const route = c.req.routePath === '/*' || !c.req.routePath ? 'unmatched' : c.req.routePath;
    metrics.httpRequests.inc({ route, method: c.req.method, status: c.res.status });
    metrics.httpDuration.observe({ route }, (performance.now() - started) / 1000);
  });

  app.onError((err, c) => {
    const id = c.get('requestId') ?? 'unknown';
    if (err instanceof ApiError) return errorResponse(err, id);
    deps.logger.error('unhandled error', { requestId: id, path: c.req.path, ...errorFields(err) });
    return errorResponse(new ApiError('internal'), id);
  });
  app.notFound((c) => errorResponse(new ApiError('not_found'), c.get('requestId') ?? 'unknown'));

  app.get('/healthz', (c) => c.json({ status: 'ok', nodeId: config.nodeId }));
  app.get('/readyz', (c) => {
    if (!deps.ready()) throw new ApiError('not_ready', 'the node is stopping');
    return c.json({ status: 'ready', nodeId: config.nodeId });
  });
  app.get('/metrics', async (c) =>
    c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType }),
  );

  app.route(
    '/v1',
    operatorApi({
      manager: deps.manager,
      apiKeys: config.operatorApiKeys,
      allowFileInput: config.allowFileInput,
    }),
  );
  app.route('/live', liveRoutes({ dataDir: config.dataDir, originSecret: config.originSecret }));
  return app;
}
