import { describe, expect, it } from 'vitest';
import { normalizeAddress, parseCidr, resolveClientAddress } from '../../src/auth/address.ts';

const trusted = ['10.0.0.0/8', '2001:db8:ffff::/48'].map(parseCidr);

describe('client address resolution', () => {
  it('uses the socket peer when it is not a trusted proxy, whatever the headers say', () => {
    expect(resolveClientAddress('203.0.113.5', { xForwardedFor: '1.2.3.4' }, trusted)).toBe('203.0.113.5');
    expect(resolveClientAddress('203.0.113.5', { forwarded: 'for=1.2.3.4' }, trusted)).toBe('203.0.113.5');
    expect(resolveClientAddress('203.0.113.5', { xForwardedFor: '1.2.3.4' }, [])).toBe('203.0.113.5');
  });

  it('reads X-Forwarded-For right to left, skipping trusted hops', () => {
    expect(
      resolveClientAddress('10.0.0.1', { xForwardedFor: '6.6.6.6, 198.51.100.2, 10.1.1.1' }, trusted),
    ).toBe('198.51.100.2');
    expect(resolveClientAddress('10.0.0.1', { xForwardedFor: '198.51.100.2' }, trusted)).toBe('198.51.100.2');
    expect(resolveClientAddress('10.0.0.1', {}, trusted)).toBe('10.0.0.1');
  });

  it('reads Forwarded (RFC 7239) with quotes, ports and IPv6', () => {
    expect(
      resolveClientAddress(
        '10.0.0.1',
        { forwarded: 'for="[2001:db8::7]:4711";proto=https, for=10.2.2.2' },
        trusted,
      ),
    ).toBe('2001:db8::7');
    expect(resolveClientAddress('10.0.0.1', { forwarded: 'for=198.51.100.3:1234' }, trusted)).toBe(
      '198.51.100.3',
    );
  });

  it('refuses to guess when the client hop is garbage', () => {
    expect(resolveClientAddress('10.0.0.1', { xForwardedFor: 'evil, not-an-ip' }, trusted)).toBeUndefined();
    expect(resolveClientAddress('10.0.0.1', { forwarded: 'for=_hidden' }, trusted)).toBeUndefined();
    expect(resolveClientAddress(undefined, {}, trusted)).toBeUndefined();
    expect(resolveClientAddress('garbage', {}, trusted)).toBeUndefined();
  });

  it('normalises mapped IPv6, zones and brackets', () => {
    expect(normalizeAddress('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80::1');
    expect(normalizeAddress('[2001:DB8:0::1]')).toBe('2001:db8::1');
    expect(resolveClientAddress('::ffff:10.0.0.1', { xForwardedFor: '198.51.100.2' }, trusted)).toBe(
      '198.51.100.2',
    );
  });

  it('rejects non-canonical IPv4 forms', () => {
    for (const s of ['127.1', '0x7f.0.0.1', '0177.0.0.1', '2130706433', '1.2.3.4.5', ''])
      expect(normalizeAddress(s)).toBeUndefined();
  });
});
