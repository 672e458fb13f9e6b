/**
 * Reading an origin body in full, bounded: the cache and the playlist rewriter need whole objects, and an
 * origin must not be able to make the gateway buffer without limit.
 */
import { OriginFetchError } from './types.ts';

/** All bytes of `stream`, or `undefined` (stream cancelled) as soon as it grows past `limit`.
 * A stream that fails midway is an origin failure: `OriginFetchError('body')`. */
export async function readAll(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array | undefined> {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw new OriginFetchError('body', 'origin body failed before its end', { cause: err });
  }
  if (chunks.length === 1) return chunks[0];
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return all;
}
