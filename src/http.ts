/**
 * Small HTTP helpers shared by the gateway's routes: the Hono environment, bounded JSON bodies and
 * validation errors that name the field.
 */
import type { Context } from 'hono';
import type { z } from 'zod';
import { ApiError } from './errors.ts';

export interface AppEnv {
  Variables: {
    requestId: string;
    /** resolved client address (after trusted proxies); undefined when it cannot be determined */
    clientAddress: string | undefined;
  };
}

/** Reads a JSON body of at most `maxBytes`, parses it with `schema`, and names the first bad field. */
export async function readJson<S extends z.ZodType>(
  c: Context,
  schema: S,
  maxBytes: number,
  opts: { emptyAs?: unknown } = {},
): Promise<z.output<S>> {
  const declared = Number(c.req.header('content-length') ?? '0');
  if (declared > maxBytes) throw new ApiError('payload_too_large');
  const text = await readBounded(c.req.raw, maxBytes);
  if (text === '' && opts.emptyAs !== undefined) return parseWith(schema, opts.emptyAs);
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\b/i.test(type)) throw new ApiError('bad_request', 'Body must be application/json');
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ApiError('bad_request', 'Body is not valid JSON');
  }
  return parseWith(schema, data);
}

function parseWith<S extends z.ZodType>(schema: S, data: unknown): z.output<S> {
  const res = schema.safeParse(data);
  if (!res.success) {
    const issue = res.error.issues[0];
    const field = issue?.path.length ? issue.path.join('.') : 'body';
    throw new ApiError('bad_request', `${field}: ${issue?.message ?? 'invalid'}`);
  }
  return res.data;
}

/** Reads a body as text, refusing it as soon as it grows past `maxBytes` (a chunked body has no length). */
export async function readBounded(req: Request, maxBytes: number): Promise<string> {
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    // a client that hangs up or times out mid-body is its own failure, not the gateway's (no 500)
    const { done, value } = await reader.read().catch((err: unknown) => {
      throw new ApiError('bad_request', 'Body was not received in full', { cause: err });
    });
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new ApiError('payload_too_large');
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.byteLength;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(all);
  } catch {
    throw new ApiError('bad_request', 'Body is not valid UTF-8');
  }
}
