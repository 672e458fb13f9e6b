/**
 * Delivery ports (SPEC §6). The app authenticates a `/live/{channel}/{object}` request, then hands it to
 * `Delivery.serve`. Runtime entries supply `OriginFetch` (undici on Node, fetch on Workers).
 */

/** One attempt at one origin. Implementations enforce the connect and first-byte bounds and reject with
 * an `OriginFetchError` whose `code` failover decides on. */
export type OriginFetch = (
  url: string,
  init: { method: 'GET' | 'HEAD'; headers: Headers; signal?: AbortSignal },
) => Promise<Response>;

export type OriginFailure = 'connect' | 'reset' | 'timeout' | 'status' | 'body';

export class OriginFetchError extends Error {
  readonly code: OriginFailure;
  constructor(code: OriginFailure, message: string, opts?: { cause?: unknown }) {
    super(message, opts);
    this.name = 'OriginFetchError';
    this.code = code;
  }
}

export interface LiveRequest {
  channel: string;
  /** object path inside the channel, already validated by `parseLiveObject` */
  object: string;
  method: 'GET' | 'HEAD';
  /** the client's request headers as received: delivery reads Range, If-None-Match and Origin, and builds origin requests
   * from an allow-list, so Authorization and Cookie (where tokens travel) never leave the gateway */
  headers: Headers;
  /** the token, only when it came in the query: playlists then carry it on every URI */
  queryToken: string | undefined;
  /** account, for per-viewer personalisation (watermark variants) */
  sub: string;
  requestId: string;
}

export interface OriginHealth {
  url: string;
  healthy: boolean;
}

export interface Delivery {
  serve(req: LiveRequest): Promise<Response>;
  health(): OriginHealth[];
  close(): Promise<void>;
}
