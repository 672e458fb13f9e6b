/**
 * IP binding (SPEC §3): the token's `ip` claim is an address, a prefix, or a list of them (dual-stack
 * players). Configuration sets the widest binding allowed; a claim may narrow it but never widen it.
 */
import { ApiError } from '../errors.ts';
import { type Address, type Cidr, inCidr, parseAddress, parseCidr } from './address.ts';

export interface BindingPolicy {
  /** widest prefix a binding may cover, e.g. 24 for CGNAT-tolerant IPv4; 32 = exact address */
  v4: number;
  v6: number;
}

export const MAX_IP_ENTRIES = 4;

/** Turns a claim into the prefixes it binds to, applying the configured widening to bare addresses.
 * Throws token_invalid for a malformed claim or one wider than configuration allows. */
export function bindingFromClaim(claim: unknown, policy: BindingPolicy): Cidr[] {
  const items = Array.isArray(claim) ? claim : [claim];
  if (items.length === 0 || items.length > MAX_IP_ENTRIES) throw invalid('ip claim must hold 1 to 4 entries');
  return items.map((item) => {
    if (typeof item !== 'string') throw invalid('ip claim entries must be strings');
    let c: Cidr;
    try {
      c = parseCidr(item);
    } catch {
      throw invalid('ip claim is not an address or prefix');
    }
    const widest = c.addr.kind() === 'ipv6' ? policy.v6 : policy.v4;
    const full = c.addr.kind() === 'ipv6' ? 128 : 32;
    const isBareAddress = !item.includes('/');
    if (isBareAddress) return { addr: c.addr, bits: widest };
    if (c.bits < widest) throw invalid('ip claim is wider than the configured binding');
    return { addr: c.addr, bits: Math.min(c.bits, full) };
  });
}

/** Throws 403 ip_mismatch unless the client address falls inside one of the bound prefixes. */
export function assertBoundTo(client: string, binding: readonly Cidr[]): void {
  const a: Address | undefined = parseAddress(client);
  if (a) for (const c of binding) if (inCidr(a, c)) return;
  throw new ApiError('ip_mismatch');
}

function invalid(message: string): ApiError {
  return new ApiError('token_invalid', message);
}
