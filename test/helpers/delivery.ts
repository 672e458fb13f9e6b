/**
 * Driving a Delivery directly (no app in front): a LiveRequest with defaults, and its answer — or the error
 * the app would render — as status + code + body + headers.
 */
import type { Delivery, LiveRequest } from '../../src/delivery/types.ts';
import { ApiError } from '../../src/errors.ts';

export function liveRequest(object: string, init: Partial<LiveRequest> = {}): LiveRequest {
  return {
    channel: 'demo',
    object,
    method: 'GET',
    headers: new Headers(),
    queryToken: undefined,
    sub: 'acct-1',
    requestId: 'req-1',
    ...init,
  };
}

export async function serveObject(delivery: Delivery, object: string, init: Partial<LiveRequest> = {}) {
  try {
    const res = await delivery.serve(liveRequest(object, init));
    return {
      status: res.status,
      code: undefined as string | undefined,
      body: new Uint8Array(await res.arrayBuffer()),
      headers: res.headers,
    };
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return {
      status: err.status,
      code: err.code as string | undefined,
      body: new Uint8Array(0),
      headers: new Headers(err.headers),
    };
  }
}
