/** The benchmark's segment: deterministic bytes, so every baseline can make the same object from its size. */
export function benchSegment(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}
