// Gateway.spec.addresses: Waygate binds listeners on IPAddress entries itself; other address
// types cannot be honoured, and malformed IP addresses cannot be bound.
import type { Gateway } from '../api/index.ts';
import { GatewayReason, type Problem } from './conditions.ts';
import { list } from './fields.ts';

export interface GatewayAddresses {
  /** The IP addresses the Gateway's listeners bind on (empty when there is a problem). */
  readonly ips: readonly string[];
  /** Gateway not accepted (Accepted=False). */
  readonly unsupported?: Problem;
  /** Gateway accepted but not programmable (Programmed=False). */
  readonly unusable?: Problem;
}

export function resolveGatewayAddresses(gateway: Gateway, listenAddress: string): GatewayAddresses {
  const addresses = list(gateway.spec?.addresses);
  if (addresses.length === 0) return { ips: [listenAddress] };
  const ips: string[] = [];
  for (const [i, address] of addresses.entries()) {
    const type = address?.type ?? 'IPAddress';
    const field = `spec.addresses[${i}]`;
    if (type !== 'IPAddress') {
      return { ips: [], unsupported: { reason: GatewayReason.UnsupportedAddress, message: `${field}: address type ${JSON.stringify(type)} is not supported; only IPAddress is` } };
    }
    if (address?.value === undefined || address.value === null || address.value === '') {
      return { ips: [], unusable: { reason: GatewayReason.AddressNotAssigned, message: `${field}.value: an empty IPAddress value cannot be assigned automatically; set the IP address to bind` } };
    }
    if (typeof address.value !== 'string' || (!isIPv4(address.value) && !isIPv6(address.value))) {
      return { ips: [], unusable: { reason: GatewayReason.AddressNotUsable, message: `${field}.value: ${JSON.stringify(address.value)} is not a valid IP address` } };
    }
    if (!ips.includes(address.value)) ips.push(address.value);
  }
  return { ips };
}

export function isIPv4(value: string): boolean {
  const parts = value.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
}

export function isIPv6(value: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(value) || value.includes(':::') || value.split('::').length > 2) return false;
  let groups = value.split(':');
  const last = groups[groups.length - 1];
  let count = 0;
  if (last.includes('.')) {
    if (!isIPv4(last)) return false;
    groups = groups.slice(0, -1);
    count += 2;
  }
  const compressed = value.includes('::');
  const nonEmpty = groups.filter((g) => g !== '');
  if (!nonEmpty.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  count += nonEmpty.length;
  if (!compressed && groups.some((g) => g === '')) return false;
  return compressed ? count < 8 : count === 8;
}
