// Gateway.spec.addresses. File mode: Waygate binds listeners on IPAddress entries itself.
// Kubernetes mode: the pods bind the listen address, and IPAddress entries go to the Gateway's
// Service (an entry without a value asks for the address the Service gets). Either way, other
// address types cannot be honoured and malformed IP addresses cannot be used.
import type { Gateway } from '../api/index.ts';
import { GatewayReason, type Problem } from './conditions.ts';
import { list } from './fields.ts';

export interface GatewayAddresses {
  /** The IP addresses the Gateway's listeners bind on (empty when there is a problem). */
  readonly ips: readonly string[];
  /** Kubernetes mode: the IP addresses asked for in spec.addresses (the Service's externalIPs). */
  readonly requested: readonly string[];
  /** Kubernetes mode: an address is to be assigned (no spec.addresses, or an entry without a value). */
  readonly dynamic: boolean;
  /** Gateway not accepted (Accepted=False). */
  readonly unsupported?: Problem;
  /** Gateway accepted but not programmable (Programmed=False). */
  readonly unusable?: Problem;
}

export function resolveGatewayAddresses(gateway: Gateway, listenAddress: string, kubernetes: boolean): GatewayAddresses {
  const addresses = list(gateway.spec?.addresses);
  const none = { ips: [], requested: [], dynamic: false };
  if (addresses.length === 0) return { ips: [listenAddress], requested: [], dynamic: kubernetes };
  const ips: string[] = [];
  let dynamic = false;
  for (const [i, address] of addresses.entries()) {
    const type = address?.type ?? 'IPAddress';
    const field = `spec.addresses[${i}]`;
    if (type !== 'IPAddress') {
      return { ...none, unsupported: { reason: GatewayReason.UnsupportedAddress, message: `${field}: address type ${JSON.stringify(type)} is not supported; only IPAddress is` } };
    }
    if (address?.value === undefined || address.value === null || address.value === '') {
      if (kubernetes) {
        dynamic = true;
        continue;
      }
      return { ...none, unusable: { reason: GatewayReason.AddressNotAssigned, message: `${field}.value: an empty IPAddress value cannot be assigned automatically; set the IP address to bind` } };
    }
    if (typeof address.value !== 'string' || (!isIPv4(address.value) && !isIPv6(address.value))) {
      return { ...none, unusable: { reason: GatewayReason.AddressNotUsable, message: `${field}.value: ${JSON.stringify(address.value)} is not a valid IP address` } };
    }
    if (!ips.includes(address.value)) ips.push(address.value);
  }
  return kubernetes ? { ips: [listenAddress], requested: ips, dynamic } : { ips, requested: [], dynamic: false };
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
