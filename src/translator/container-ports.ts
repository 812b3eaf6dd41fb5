// Kubernetes mode: the container port each (Gateway, listener port) is served on, the same in
// every replica with no coordination (docs/design/gateway-deployment.md). A port the Gateway's
// Service already targets is kept; the others take the port hash(namespace/name/port) picks
// in the range, probing upwards past taken ones; both passes visit the oldest Gateway first.
// So adding a Gateway never moves an existing Gateway's port.
import { contentHash } from '../util/index.ts';

export interface PortRange {
  readonly first: number;
  readonly last: number;
}

export const DEFAULT_PORT_RANGE: PortRange = { first: 10000, last: 29999 };

export interface PortClaim {
  /** `<namespace>/<name>` of the Gateway. */
  readonly key: string;
  /** Distinct listener ports, ascending. */
  readonly ports: readonly number[];
  /** Listener port → container port its existing Service targets (inside the range). */
  readonly pinned: ReadonlyMap<number, number>;
}

/** The range when it is well formed, the default otherwise. */
export function normalizePortRange(range: PortRange | undefined): PortRange {
  if (!range) return DEFAULT_PORT_RANGE;
  const { first, last } = range;
  const ok = Number.isInteger(first) && Number.isInteger(last) && first >= 1 && last <= 65535 && first <= last;
  return ok ? { first, last } : DEFAULT_PORT_RANGE;
}

export function inRange(port: unknown, range: PortRange): port is number {
  return Number.isInteger(port) && (port as number) >= range.first && (port as number) <= range.last;
}

/**
 * Claims in age order (oldest Gateway first). Returns, per Gateway key, listener port →
 * container port; a listener port left out found the range full.
 */
export function allocateContainerPorts(claims: readonly PortClaim[], range: PortRange): Map<string, Map<number, number>> {
  const taken = new Set<number>();
  const out = new Map<string, Map<number, number>>();
  for (const claim of claims) {
    const ports = new Map<number, number>();
    out.set(claim.key, ports);
    for (const port of claim.ports) {
      const pinned = claim.pinned.get(port);
      if (pinned === undefined || taken.has(pinned) || !inRange(pinned, range)) continue;
      taken.add(pinned);
      ports.set(port, pinned);
    }
  }
  const size = range.last - range.first + 1;
  for (const claim of claims) {
    const ports = out.get(claim.key)!;
    for (const port of claim.ports) {
      if (ports.has(port) || taken.size >= size) continue;
      const start = preferredSlot(claim.key, port, size);
      for (let i = 0; i < size; i++) {
        const candidate = range.first + ((start + i) % size);
        if (taken.has(candidate)) continue;
        taken.add(candidate);
        ports.set(port, candidate);
        break;
      }
    }
  }
  return out;
}

/** The first 32 bits of SHA-256 of the JSON string "<namespace>/<name>/<port>", modulo the range size. Never change it: ports would move. */
function preferredSlot(key: string, port: number, size: number): number {
  return parseInt(contentHash(`${key}/${port}`).slice(0, 8), 16) % size;
}
