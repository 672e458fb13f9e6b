/**
 * Test-only Worker: the real DurableObjectSessionStore (and through it the real SessionDO) behind one
 * HTTP route, so the session contract suite, which runs in Node, drives it on workerd. Not deployed.
 *
 *   POST / {"op": "admit", "opts": SessionStoreOptions, "args": [...]} → 200 {"result": …}
 *                                                                     | 422 {"field", "message"} (bad input)
 */
import {
  type DurableObjectNamespaceLike,
  DurableObjectSessionStore,
} from '../../src/sessions/durable-object.ts';
import type { SessionStore, SessionStoreOptions } from '../../src/sessions/types.ts';
import { SessionInputError } from '../../src/sessions/validate.ts';

export { SessionDO } from '../../src/sessions/durable-object.ts';

const OPS = new Set(['admit', 'state', 'revoke', 'list', 'ping']);

export default {
  async fetch(request: Request, env: { SESSIONS: DurableObjectNamespaceLike }): Promise<Response> {
    if (request.method !== 'POST') return new Response('session harness\n');
    const { op, opts, args } = (await request.json()) as {
      op: keyof SessionStore;
      opts: SessionStoreOptions;
      args: unknown[];
    };
    if (!OPS.has(op)) return Response.json({ error: `unknown op ${String(op)}` }, { status: 400 });
    try {
      const store = new DurableObjectSessionStore(env.SESSIONS, opts);
      const call = store[op] as (...a: unknown[]) => Promise<unknown>;
      const result = await call.apply(store, args);
      return Response.json({ result: result ?? null });
    } catch (err) {
      if (err instanceof SessionInputError)
        return Response.json({ field: err.field, message: err.message }, { status: 422 });
      return Response.json({ error: String(err) }, { status: 500 });
    }
  },
};
