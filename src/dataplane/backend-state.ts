// A backend (one Service port) as a worker keeps it across config versions: its balancer and
// the pools of its endpoints. Built and updated off the request path, when a config is applied.
import type { Pool } from 'undici';
import { endpointReady, endpointServing, endpointTerminating, type IRBackend, type IREndpoint } from '../ir/index.ts';
import { createBalancer, type Balancer, type EndpointInput } from './lb/index.ts';
import { endpointKey, type UpstreamPools } from './upstream-pools.ts';

export type BalancingPolicy = 'RoundRobin' | 'WeightedRoundRobin';

/**
 * The one place a backend's load-balancing policy is chosen. IR endpoints carry no weights yet,
 * so every backend is plain round robin; a policy resource will decide here later.
 */
export function balancingPolicyOf(_backend: IRBackend): BalancingPolicy {
  return 'RoundRobin';
}

export class BackendState {
  readonly name: string;
  /**
   * Shared by every route and config version that uses the backend: rotation, in-flight counts
   * and (later) health survive a swap. Picks see the newest endpoints, so a request that started
   * on an older config never reaches an endpoint a newer one removed.
   */
  readonly balancer: Balancer;
  /** Endpoint key → its shared pool, for every endpoint of the last update. */
  pools = new Map<string, Pool>();
  #endpoints: readonly IREndpoint[] = [];

  constructor(name: string, policy: BalancingPolicy) {
    this.name = name;
    this.balancer = createBalancer(policy);
  }

  /** Takes the endpoints of `backend`, acquiring their pools; adds their keys to `keys`. */
  update(backend: IRBackend, upstream: UpstreamPools, keys: Set<string>): void {
    const pools = new Map<string, Pool>();
    for (const e of backend.endpoints) {
      const key = endpointKey(e.address, e.port);
      keys.add(key);
      pools.set(key, upstream.acquire(e.address, e.port));
    }
    this.pools = pools;
    if (sameEndpoints(this.#endpoints, backend.endpoints)) return;
    this.#endpoints = backend.endpoints;
    this.balancer.update(backend.endpoints.map(endpointInput));
  }
}

function endpointInput(e: IREndpoint): EndpointInput {
  return {
    key: endpointKey(e.address, e.port),
    ready: endpointReady(e),
    serving: endpointServing(e),
    terminating: endpointTerminating(e),
    ...(e.zone === undefined ? {} : { zone: e.zone }),
  };
}

function sameEndpoints(a: readonly IREndpoint[], b: readonly IREndpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.address !== y.address || x.port !== y.port || x.zone !== y.zone || endpointReady(x) !== endpointReady(y)
      || endpointServing(x) !== endpointServing(y) || endpointTerminating(x) !== endpointTerminating(y)) return false;
  }
  return true;
}
