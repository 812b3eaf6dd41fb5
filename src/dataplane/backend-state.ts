// A backend (one Service port) as a worker keeps it across config versions: its balancer and
// the pools of its endpoints. Built and updated off the request path, when a config is applied.
import type { Pool } from 'undici';
import { endpointReady, endpointServing, endpointTerminating, type IRBackend, type IREndpoint } from '../ir/index.ts';
import { healthCheckId, healthKeyOf } from './health/health-check.ts';
import { HealthView } from './health/health-view.ts';
import { OutlierDetector, type AttemptOutcome } from './health/outlier-detector.ts';
import { createBalancer, type Balancer, type Endpoint, type EndpointInput, type RequestResult } from './lb/index.ts';
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
   * and health (ejected endpoints) survive a swap. Picks see the newest endpoints, so a request that started
   * on an older config never reaches an endpoint a newer one removed.
   */
  readonly balancer: Balancer;
  /** Endpoint key → its shared pool, for every endpoint of the last update. */
  pools = new Map<string, Pool>();
  /** Passive health: ejects endpoints that fail in a row, from the outcomes of onEnd(). */
  readonly outlier: OutlierDetector;
  #endpoints: readonly IREndpoint[] = [];
  #keys: readonly string[] = [];
  /** Active health, shared by the worker; `#checkId` names this backend's check in it. */
  readonly #health: HealthView;
  #checkId: string | undefined = undefined;

  constructor(name: string, policy: BalancingPolicy, health: HealthView = new HealthView()) {
    this.name = name;
    this.balancer = createBalancer(policy);
    this.#health = health;
    this.outlier = new OutlierDetector(name, () => this.#publish());
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
    const check = backend.policy?.healthCheck;
    const checkId = check === undefined ? undefined : healthCheckId(check);
    const returned = this.outlier.configure(backend.policy?.outlierDetection);
    if (sameEndpoints(this.#endpoints, backend.endpoints) && checkId === this.#checkId && !returned) return;
    this.#endpoints = backend.endpoints;
    this.#keys = backend.endpoints.map((e) => endpointKey(e.address, e.port));
    this.#checkId = checkId;
    this.outlier.setEndpoints(this.#keys);
    this.#publish();
  }

  /** Balancer feedback and outlier detection for one finished attempt. */
  onEnd(endpoint: Endpoint, result: RequestResult, outcome: AttemptOutcome): void {
    this.balancer.onEnd(endpoint, result);
    this.outlier.observe(endpoint.key, outcome);
  }

  /** The worker's health view changed: updates the balancer if an endpoint of this backend changed. */
  refreshHealth(): void {
    if (this.#checkId === undefined) return;
    for (const key of this.#keys) {
      if (this.balancer.get(key)?.ejected !== this.#ejected(key)) return this.#publish();
    }
  }

  /** The backend left the configuration: stops its timers. */
  close(): void {
    this.outlier.close();
  }

  /** Out of the first tier: unhealthy by the active check or ejected as an outlier (panic keeps them usable when all are). */
  #ejected(key: string): boolean {
    return (this.#checkId !== undefined && this.#health.isUnhealthy(healthKeyOf(this.#checkId, key))) || this.outlier.isEjected(key);
  }

  #publish(): void {
    this.balancer.update(this.#endpoints.map((e, i) => endpointInput(e, this.#keys[i], this.#ejected(this.#keys[i]))));
  }
}

function endpointInput(e: IREndpoint, key: string, ejected: boolean): EndpointInput {
  return {
    key,
    ready: endpointReady(e),
    serving: endpointServing(e),
    terminating: endpointTerminating(e),
    ...(e.zone === undefined ? {} : { zone: e.zone }),
    ...(ejected ? { ejected } : {}),
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
