/**
 * One error table for every service in the repository (SPEC §4): a stable code, its HTTP status and a
 * default human message. Handlers throw `ApiError`; one `onError` per app renders it as JSON.
 */
export const ERRORS = {
  bad_request: { status: 400, message: 'Malformed request' },
  payload_too_large: { status: 413, message: 'Request body too large' },
  uri_too_long: { status: 414, message: 'Request URI too long' },
  headers_too_large: { status: 431, message: 'Request headers too large' },
  range_not_satisfiable: { status: 416, message: 'Requested range not satisfiable' },
  rate_limited: { status: 429, message: 'Too many requests' },
  unauthorized: { status: 401, message: 'Missing or invalid API key' },
  not_found: { status: 404, message: 'Not found' },
  method_not_allowed: { status: 405, message: 'Method not allowed' },
  token_missing: { status: 401, message: 'No token presented' },
  token_invalid: { status: 401, message: 'Token is invalid' },
  token_expired: { status: 401, message: 'Token has expired' },
  ip_mismatch: { status: 403, message: 'Token Leakage Detected - IP Mismatch' },
  channel_forbidden: { status: 403, message: 'Token does not grant this channel' },
  session_limit: { status: 409, message: 'This account is already streaming' },
  session_replaced: { status: 409, message: 'This session was replaced by a newer one on the same account' },
  session_revoked: { status: 409, message: 'The sessions of this account were revoked' },
  conflict: { status: 409, message: 'Conflict' },
  capacity_exceeded: { status: 409, message: 'No encoder capacity left' },
  origin_unavailable: { status: 502, message: 'No origin could serve the request' },
  origin_timeout: { status: 504, message: 'Origins did not answer in time' },
  store_unavailable: { status: 503, message: 'Session store unavailable' },
  not_ready: { status: 503, message: 'Not ready' },
  internal: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra JSON fields merged into the body (e.g. capacity figures); never secrets. */
  readonly details: Record<string, unknown> | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message ?? ERRORS[code].message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = opts.details;
    this.headers = opts.headers;
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}

export interface ErrorBody {
  error: ErrorCode;
  message: string;
  requestId: string;
  [extra: string]: unknown;
}

/** The JSON response for an error; `ip_mismatch` keeps its contractual message whatever was passed. */
export function errorResponse(err: ApiError, requestId: string): Response {
  const message = err.code === 'ip_mismatch' ? ERRORS.ip_mismatch.message : err.message;
  const body: ErrorBody = { ...err.details, error: err.code, message, requestId };
  const headers = new Headers(err.headers);
  headers.set('content-type', 'application/json; charset=utf-8');
  headers.set('cache-control', 'no-store');
  return new Response(JSON.stringify(body), { status: err.status, headers });
}
