/**
 * Property tests of client address resolution (SPEC §3): random X-Forwarded-For and Forwarded chains of
 * IPv4, IPv6 (zones, brackets, ports, IPv4-mapped forms), non-canonical IPv4 and garbage, behind trusted and
 * untrusted peers. The oracle is independent of the product (ipaddr.js arithmetic on the generated hops):
 * - an untrusted peer is the client, whatever the headers say;
 * - behind a trusted peer the answer is never an address that sits left of a hop that is not a trusted
 *   proxy (garbage included): it is the rightmost untrusted hop, or no answer at all;
 * - when every hop is well formed, the answer is exactly that hop;
 * - nothing throws, on any header text.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { type Cidr, parseCidr, resolveClientAddress } from '../../src/auth/address.ts';

const RUNS = { numRuns: 500 };

type Addr = ipaddr.IPv4 | ipaddr.IPv6;

/** Canonical text the product must answer with: IPv4 dotted, IPv6 RFC 5952, mapped IPv6 folded to IPv4. */
function canonical(a: Addr): string {
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress())
    return (a as ipaddr.IPv6).toIPv4Address().toString();
  return a.kind() === 'ipv6' ? (a as ipaddr.IPv6).toRFC5952String() : a.toString();
}

interface Trust {
  addr: Addr;
  bits: number;
}

function trusted(text: string, list: Trust[]): boolean {
  let a: Addr = ipaddr.parse(text);
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress()) a = (a as ipaddr.IPv6).toIPv4Address();
  return list.some((t) => t.addr.kind() === a.kind() && a.match(t.addr, t.bits));
}

/** One hop as the generator knows it: the canonical address it stands for, or garbage. */
interface Hop {
  /** canonical address, or undefined for a hop that must not be believed (garbage, odd IPv4 forms, ports in XFF) */
  address: string | undefined;
  /** an empty list element (", ,") that proxies do not write and the walk skips */
  empty: boolean;
  xff: string;
  forwarded: string;
}

const v4 = fc.ipV4();
const v6 = fc.ipV6();
const zone = fc.constantFrom('%eth0', '%1', '%en0');
const port = fc.integer({ min: 1, max: 65535 });

const goodHop: fc.Arbitrary<Hop> = fc.oneof(
  v4.map((a) => ({ address: canonical(ipaddr.parse(a)), empty: false, xff: a, forwarded: `for=${a}` })),
  fc.tuple(v4, port).map(([a, p]) => ({
    address: canonical(ipaddr.parse(a)),
    empty: false,
    xff: a, // XFF carries no port
    forwarded: `for="${a}:${p}"`,
  })),
  v6.map((a) => ({ address: canonical(ipaddr.parse(a)), empty: false, xff: a, forwarded: `for="[${a}]"` })),
  fc.tuple(v6, port).map(([a, p]) => ({
    address: canonical(ipaddr.parse(a)),
    empty: false,
    xff: `[${a}]`,
    forwarded: `for="[${a}]:${p}"`,
  })),
  fc.tuple(fc.constantFrom('fe80::1', 'fe80::abcd:1'), zone).map(([a, z]) => ({
    address: canonical(ipaddr.parse(a)),
    empty: false,
    xff: `${a}${z}`,
    forwarded: `for="[${a}${z}]"`,
  })),
  v4.map((a) => ({
    address: canonical(ipaddr.parse(a)),
    empty: false,
    xff: `::ffff:${a}`,
    forwarded: `for="[::ffff:${a}]"`,
  })),
);

const garbageText = fc.oneof(
  fc.constantFrom(
    'unknown',
    '_hidden',
    '127.1',
    '0x7f.0.0.1',
    '010.0.0.1',
    '1.2.3',
    '256.1.1.1',
    '::ffff:1.2.3',
  ),
  fc.constantFrom('[', '[1.2.3.4', '[::1', '1.2.3.4]', '::1]:80', '[]', '%eth0', 'a:b:c'),
  fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/[,;"\s]/.test(s) && s.trim() !== ''),
);
const garbageHop: fc.Arbitrary<Hop> = fc.oneof(
  garbageText
    .filter((g) => !ipaddr.IPv4.isValidFourPartDecimal(g) && !(g.includes(':') && ipaddr.IPv6.isValid(g)))
    .map((g) => ({ address: undefined, empty: false, xff: g, forwarded: `for="${g}"` })),
  // a port in X-Forwarded-For is not an address
  fc
    .tuple(v4, port)
    .map(([a, p]) => ({ address: undefined, empty: false, xff: `${a}:${p}`, forwarded: 'for=unknown' })),
);
const emptyHop: fc.Arbitrary<Hop> = fc.constant({
  address: undefined,
  empty: true,
  xff: '',
  forwarded: 'for=""',
});

/** A chain and a trusted list built from some of its addresses, so trusted hops actually occur. */
const scenario = fc
  .record({
    hops: fc.array(
      fc.oneof(
        { weight: 6, arbitrary: goodHop },
        { weight: 2, arbitrary: garbageHop },
        { weight: 1, arbitrary: emptyHop },
      ),
      { maxLength: 8 },
    ),
    peer: fc.oneof(
      v4,
      v6,
      v4.map((a) => `::ffff:${a}`),
    ),
    trustPeer: fc.boolean(),
    trustHops: fc.array(fc.boolean(), { maxLength: 8 }),
    prefix: fc.constantFrom(0, 8, 16, 24, 32),
    extraTrust: fc.array(
      fc.oneof(
        v4.map((a) => `${a}/24`),
        v6.map((a) => `${a}/48`),
      ),
      { maxLength: 2 },
    ),
    header: fc.constantFrom('xff' as const, 'forwarded' as const, 'both' as const),
    spacing: fc.constantFrom(', ', ',', ' ,  '),
    params: fc.constantFrom('', ';proto=https', ';by=10.0.0.1;host=x'),
  })
  .map((s) => {
    const trust: string[] = [...s.extraTrust];
    if (s.trustPeer) trust.push(s.peer);
    s.hops.forEach((h, i) => {
      if (h.address && s.trustHops[i])
        trust.push(h.address.includes(':') ? h.address : `${h.address}/${Math.max(s.prefix, 24)}`);
    });
    return { ...s, trust };
  });

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

function render(s: Scenario) {
  const xff = s.hops.map((h) => h.xff).join(s.spacing);
  const forwarded = s.hops.map((h) => h.forwarded + s.params).join(s.spacing);
  return {
    xForwardedFor: s.header === 'forwarded' ? undefined : xff,
    forwarded: s.header === 'xff' || s.hops.length === 0 ? undefined : forwarded,
  };
}

const toTrust = (list: string[]): Trust[] =>
  list.map((t) => {
    const c: Cidr = parseCidr(t);
    return { addr: ipaddr.parse(c.addr.toString()) as Addr, bits: c.bits };
  });

describe('resolveClientAddress', () => {
  it('never believes a hop left of one that is not a trusted proxy; exact when every hop is well formed', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const trust = toTrust(s.trust);
        const result = resolveClientAddress(
          s.peer,
          render(s),
          trust.map((t) => parseCidr(`${t.addr}/${t.bits}`)),
        );
        const peer = canonical(ipaddr.parse(s.peer));
        if (!trusted(s.peer, trust)) {
          expect(result).toBe(peer);
          return;
        }
        // walk the chain right to left: every hop passed over must be a trusted proxy
        let expected: string | undefined = peer;
        let wellFormed = true;
        const believable = new Set<string>([peer]);
        for (let i = s.hops.length - 1; i >= 0; i--) {
          const hop = s.hops[i] as Hop;
          if (hop.empty) continue;
          if (!hop.address) {
            wellFormed = false;
            break;
          }
          expected = hop.address;
          believable.add(hop.address);
          if (!trusted(hop.address, trust)) break;
        }
        if (result !== undefined) expect(believable, `answered ${result}`).toContain(result);
        if (wellFormed) expect(result).toBe(expected);
      }),
      RUNS,
    );
  });

  it('an untrusted peer is the client whatever the header text; nothing throws', () => {
    const text = fc.string({ unit: 'binary', maxLength: 300 });
    fc.assert(
      fc.property(fc.oneof(v4, v6), text, text, fc.boolean(), (peer, xff, fwd, trustPeer) => {
        const list = trustPeer ? [parseCidr(peer)] : [parseCidr('10.0.0.0/8')];
        const result = resolveClientAddress(peer, { xForwardedFor: xff, forwarded: fwd }, list);
        if (!trustPeer && !peer.startsWith('10.')) expect(result).toBe(canonical(ipaddr.parse(peer)));
        if (result !== undefined) expect(canonical(ipaddr.parse(result))).toBe(result);
      }),
      RUNS,
    );
  });

  it('a peer that is not an address gives no client at all', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (peer) => {
        const valid =
          ipaddr.IPv4.isValidFourPartDecimal(peer.trim()) ||
          ipaddr.IPv6.isValid(
            peer
              .trim()
              .replace(/^\[(.*)\]$/, '$1')
              .replace(/%.*$/, ''),
          );
        const result = resolveClientAddress(peer, { xForwardedFor: '198.51.100.1' }, []);
        if (!valid) expect(result).toBeUndefined();
      }),
      RUNS,
    );
  });
});

describe('regressions found by these properties', () => {
  it('a Forwarded hop with an unclosed bracket stops the walk instead of being skipped as empty', () => {
    const trust = [parseCidr('10.0.0.1')];
    const headers = { forwarded: 'for="[2001:db8::66]", for="["' };
    expect(resolveClientAddress('10.0.0.1', headers, trust)).toBeUndefined();
  });

  it('a Forwarded hop that port stripping would empty (for=":x") stops the walk too', () => {
    const trust = [parseCidr('10.0.0.1')];
    const headers = { forwarded: 'for="2001:db8::66", for=":x"' };
    expect(resolveClientAddress('10.0.0.1', headers, trust)).toBeUndefined();
  });
});
