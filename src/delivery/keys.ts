/**
 * AES-128 content keys derived identically by origins and gateway, without a key server (SPEC §6):
 * key = HKDF-SHA256(ikm = secret of a version, salt = "edge-gw/aes-128/v1", info = "{channel}/{period}", 16 bytes).
 * WebCrypto only, so the same code runs in Node, Workers and the origin.
 */
const SALT = new TextEncoder().encode('edge-gw/aes-128/v1');

export interface ChannelKeySecret {
  /** e.g. "v1"; appears in key URIs as `key/{version}/{period}.key`. */
  version: string;
  secret: Uint8Array;
}

const VERSION_RE = /^v[0-9]{1,6}$/;
const HEX_RE = /^(?:[0-9a-fA-F]{2}){16,128}$/;

/** Parses `v1:<hex>[,v2:<hex>…]`, current first. Throws a message naming the problem (never the secret). */
export function parseChannelKeySecrets(value: string): ChannelKeySecret[] {
  const out: ChannelKeySecret[] = [];
  for (const part of value.split(',')) {
    const item = part.trim();
    const colon = item.indexOf(':');
    const version = colon > 0 ? item.slice(0, colon) : '';
    const hex = colon > 0 ? item.slice(colon + 1) : '';
    if (!VERSION_RE.test(version)) throw new Error('each entry must look like v<N>:<hex>');
    if (!HEX_RE.test(hex)) throw new Error(`secret ${version} must be 16 to 128 bytes of hex`);
    if (out.some((s) => s.version === version)) throw new Error(`version ${version} appears twice`);
    out.push({ version, secret: hexToBytes(hex) });
  }
  if (out.length === 0) throw new Error('no secret given');
  return out;
}

export function keyPeriod(seq: number, period: number): number {
  return Math.floor(seq / period);
}

const cache = new Map<string, Promise<Uint8Array>>();
const CACHE_MAX = 4096;

/** The 16-byte content key of `{channel}/{period}` under one secret version; memoised (bounded). */
export function deriveChannelKey(
  secret: ChannelKeySecret,
  channel: string,
  period: number,
): Promise<Uint8Array> {
  const id = `${secret.version}\u0000${bytesToHex(secret.secret)}\u0000${channel}/${period}`;
  let hit = cache.get(id);
  if (!hit) {
    hit = hkdf(secret.secret, `${channel}/${period}`);
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(id, hit);
    hit.catch(() => cache.delete(id));
  }
  return hit;
}

async function hkdf(ikm: Uint8Array, info: string): Promise<Uint8Array> {
  const base = await crypto.subtle.importKey('raw', ikm as BufferSource, 'HKDF', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: SALT, info: new TextEncoder().encode(info) },
    base,
    128,
  );
  return new Uint8Array(bits);
}

/** IV for a segment: its media sequence number as a 128-bit big-endian integer (the HLS default). */
export function sequenceIv(seq: number): Uint8Array {
  const iv = new Uint8Array(16);
  let n = BigInt(seq);
  for (let i = 15; i >= 0 && n > 0n; i--) {
    iv[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return iv;
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}
