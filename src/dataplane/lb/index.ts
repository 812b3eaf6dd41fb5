// Load-balancing policies behind one Balancer interface, and the registry that names them.
// Each policy is a small file; state lives per Service port and is shared by its routes.
import { LeastRequestBalancer } from './least-request.ts';
import type { LeastRequestOptions } from './least-request.ts';
import { MaglevBalancer } from './maglev.ts';
import type { MaglevOptions } from './maglev.ts';
import { PeakEwmaBalancer } from './peak-ewma.ts';
import type { PeakEwmaOptions } from './peak-ewma.ts';
import { RandomBalancer } from './random.ts';
import { RingHashBalancer } from './ring-hash.ts';
import type { RingHashOptions } from './ring-hash.ts';
import { RoundRobinBalancer } from './round-robin.ts';
import type { Balancer } from './types.ts';
import { WeightedRoundRobinBalancer } from './weighted-round-robin.ts';

/** The options of every policy together; each reads its own. */
export type BalancerOptions = LeastRequestOptions & PeakEwmaOptions & RingHashOptions & MaglevOptions;

export interface BalancerPolicy {
  readonly name: string;
  /** Whether picks use PickContext.hash (then a HashKey must be configured). */
  readonly hashing: boolean;
  create(options?: BalancerOptions): Balancer;
}

/** Every policy, in the order documentation and errors list them. */
export const BALANCER_POLICIES: readonly BalancerPolicy[] = [
  { name: 'RoundRobin', hashing: false, create: (o) => new RoundRobinBalancer(o) },
  { name: 'WeightedRoundRobin', hashing: false, create: (o) => new WeightedRoundRobinBalancer(o) },
  { name: 'Random', hashing: false, create: (o) => new RandomBalancer(o) },
  { name: 'LeastRequest', hashing: false, create: (o) => new LeastRequestBalancer(o) },
  { name: 'PeakEWMA', hashing: false, create: (o) => new PeakEwmaBalancer(o) },
  { name: 'RingHash', hashing: true, create: (o) => new RingHashBalancer(o) },
  { name: 'Maglev', hashing: true, create: (o) => new MaglevBalancer(o) },
];

export function findBalancerPolicy(name: string): BalancerPolicy | undefined {
  return BALANCER_POLICIES.find((p) => p.name === name);
}

/** A balancer of the named policy; throws on an unknown name (a configuration is validated before). */
export function createBalancer(name: string, options?: BalancerOptions): Balancer {
  const policy = findBalancerPolicy(name);
  if (policy === undefined) {
    throw new RangeError(`unknown load-balancing policy ${name}; known: ${BALANCER_POLICIES.map((p) => p.name).join(', ')}`);
  }
  return policy.create(options);
}

export type { Balancer, CommonOptions, Clock, Endpoint, EndpointInput, PickContext, Random, RequestResult, ZonePreference } from './types.ts';
export { selectActive } from './endpoint-state.ts';
export { RoundRobinBalancer } from './round-robin.ts';
export { WeightedRoundRobinBalancer } from './weighted-round-robin.ts';
export { RandomBalancer, seededRandom } from './random.ts';
export { LeastRequestBalancer } from './least-request.ts';
export type { LeastRequestOptions } from './least-request.ts';
export { PeakEwmaBalancer } from './peak-ewma.ts';
export type { PeakEwmaOptions } from './peak-ewma.ts';
export { RingHashBalancer } from './ring-hash.ts';
export type { RingHashOptions } from './ring-hash.ts';
export { MaglevBalancer } from './maglev.ts';
export type { MaglevOptions } from './maglev.ts';
export { createHashKey, hash32, cookieValue, queryValue, firstHeader, sourceIp } from './hash-key.ts';
export type { HashKey, HashKeySpec, HashRequest } from './hash-key.ts';
export { StickyBalancer, StickyIndex, endpointTag, honoursSticky, stickyKey } from './sticky.ts';
export type { StickyCookie, StickyMode, StickyOptions, StickySecret } from './sticky.ts';
export { SESSION_MODE, SessionPersistence, sessionPersistenceConfig } from './session-persistence.ts';
export type {
  Session, SessionDefaults, SessionPersistenceConfig, SessionPersistenceOptions, SessionPersistenceSpec,
} from './session-persistence.ts';
