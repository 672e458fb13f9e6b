/**
 * Client addresses (SPEC §3): canonical parsing, CIDR math and the right-to-left walk of forwarding
 * headers. ipaddr.js does the bit arithmetic; what is ours is strictness: only four-part decimal IPv4
 * (no `127.1`, octal or hex forms an attacker could use to dodge a comparison), IPv4-mapped IPv6 folded
 * to IPv4, zone ids dropped, and forwarding headers believed only from trusted hops.
 */
import ipaddr from 'ipaddr.js';

export type Address = ipaddr.IPv4 | ipaddr.IPv6;
export interface Cidr {
  addr: Address;
  bits: number;
}

/** Parses one address string strictly; undefined when it is not a plain IPv4 or IPv6 address. */
export function parseAddress(raw: string): Address | undefined {
  let s = raw.trim();
  if (s.length === 0 || s.length > 64) return undefined;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone !== -1) s = s.slice(0, zone);
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) return ipaddr.IPv4.parse(s);
  if (s.includes(':') && ipaddr.IPv6.isValid(s)) {
    const v6 = ipaddr.IPv6.parse(s);
    return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : v6;
  }
  return undefined;
}

/** Canonical text of an address (IPv4 dotted, IPv6 RFC 5952). */
export function formatAddress(a: Address): string {
  return a.kind() === 'ipv6' ? (a as ipaddr.IPv6).toRFC5952String() : a.toString();
}

export function normalizeAddress(raw: string): string | undefined {
  const a = parseAddress(raw);
  return a ? formatAddress(a) : undefined;
}

/** `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128). Throws a message naming the bad entry. */
export function parseCidr(raw: string): Cidr {
  const slash = raw.indexOf('/');
  const addr = parseAddress(slash === -1 ? raw : raw.slice(0, slash));
  const max = raw.includes(':') ? 128 : 32;
  const bitsText = slash === -1 ? String(max) : raw.slice(slash + 1);
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : Number.NaN;
  if (!addr || !(bits >= 0 && bits <= max)) throw new Error(`not an address or CIDR: "${raw.slice(0, 64)}"`);
  // a mapped IPv6 prefix (::ffff:10.0.0.0/104) was folded to IPv4: shift its length too
  if (addr.kind() === 'ipv4' && raw.includes(':')) return { addr, bits: Math.max(0, bits - 96) };
  return { addr, bits };
}

export function inCidr(a: Address, c: Cidr): boolean {
  return a.kind() === c.addr.kind() && a.match(c.addr, c.bits);
}

export function inAny(a: Address, list: readonly Cidr[]): boolean {
  for (const c of list) if (inCidr(a, c)) return true;
  return false;
}

/** The `for=` values of a `Forwarded` header, in order (RFC 7239). Obfuscated or unknown nodes are kept as
 * strings that will not parse, so they stop the walk. */
function forwardedFor(header: string): string[] {
  const out: string[] = [];
  for (const element of header.split(',')) {
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq === -1 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      let v = pair.slice(eq + 1).trim();
      if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1);
      // strip a port: [v6]:port or v4:port
      const raw = v;
      if (v.startsWith('[')) v = v.slice(0, v.indexOf(']') + 1);
      else if (v.split(':').length === 2) v = v.slice(0, v.indexOf(':'));
      // garbage must stop the walk: stripping never turns it into an empty element, which is skipped
      out.push(v === '' ? raw : v);
    }
  }
  return out;
}

export interface AddressHeaders {
  forwarded?: string | undefined;
  xForwardedFor?: string | undefined;
}

const MAX_HOPS = 32;

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy, in which case the forwarding
 * chain is read right to left and the first hop that is not itself trusted is the client. `Forwarded`
 * wins over `X-Forwarded-For` when both are present. Returns undefined when the chain is garbage where the
 * client should be: the caller refuses rather than guessing.
 */
export function resolveClientAddress(
  peer: string | undefined,
  headers: AddressHeaders,
  trusted: readonly Cidr[],
): string | undefined {
  const p = peer === undefined ? undefined : parseAddress(peer);
  if (!p) return undefined;
  if (trusted.length === 0 || !inAny(p, trusted)) return formatAddress(p);
  const chain = headers.forwarded
    ? forwardedFor(headers.forwarded)
    : (headers.xForwardedFor ?? '').split(',').map((s) => s.trim());
  let client: Address = p;
  for (let i = chain.length - 1, hops = 0; i >= 0 && hops < MAX_HOPS; i--, hops++) {
    const hop = chain[i] ?? '';
    if (hop === '') continue;
    const a = parseAddress(hop);
    if (!a) return undefined;
    client = a;
    if (!inAny(a, trusted)) break;
  }
  return formatAddress(client);
}
