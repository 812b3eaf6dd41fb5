// A backend (one Service port) as a worker keeps it across config versions: its balancer and
// the pools of its endpoints. Built and updated off the request path, when a config is applied.
import { randomBytes } from 'node:crypto';
import {
  endpointReady, endpointServing, endpointTerminating,
  type IRBackend, type IRBackendPolicy, type IREndpoint, type IRLoadBalancer, type IRRetryPolicy, type IRStickySession,
  type IRZonePreference,
} from '../ir/index.ts';
import type { DnsSubscriber, DnsWatches } from './dns/dns-watches.ts';
import type { DnsWatch } from './dns/resolver.ts';
import { healthCheckId, healthKeyOf } from './health/health-check.ts';
import { HealthView } from './health/health-view.ts';
import { OutlierDetector, type AttemptOutcome } from './health/outlier-detector.ts';
import {
  cookieValue, createBalancer, createHashKey, stickyKey, StickyBalancer, StickyIndex,
  type Balancer, type Endpoint, type EndpointInput, type HashKey, type HashRequest, type PickContext, type RequestResult, type StickySecret,
} from './lb/index.ts';
import { endpointKey, type UpstreamPools } from './upstream-pools.ts';
import type { EndpointPool } from './upstream/pool.ts';

/** What a backend's balancer is built from; a new config with another `key` builds a new one. */
export interface BalancingPolicy {
  readonly type: IRLoadBalancer;
  readonly sticky: IRStickySession | undefined;
  readonly zone: IRZonePreference | undefined;
  /** `policy.slowStart.windowMs`; 0: off. */
  readonly slowStartMs: number;
  readonly key: string;
}

/**
 * The one place a backend's load-balancing policy is chosen, from its IR policy
 * (BackendTrafficPolicy, Service annotations, Service topology): round robin unless it says
 * otherwise. The hash key is not part of it: it changes in place (`BackendState.update`).
 */
export function balancingPolicyOf(policy: IRBackendPolicy | undefined): BalancingPolicy {
  const type = policy?.loadBalancer ?? 'RoundRobin';
  const sticky = policy?.stickySession;
  const zone = policy?.zone;
  const slowStartMs = policy?.slowStart?.windowMs ?? 0;
  return { type, sticky, zone, slowStartMs, key: JSON.stringify([type, sticky ?? null, zone ?? null, slowStartMs]) };
}

/** What every backend of a worker shares: the fleet's secret (sticky cookies, session tokens) and the proxy's zone. */
export interface BalancingContext {
  /** The same in every worker and replica, or clients move when they reach another one. */
  readonly stickySecret: StickySecret;
  /** `--zone`; undefined: zone preference is off everywhere. */
  readonly localZone: string | undefined;
  /** The worker's DNS watches, for DNS backends; undefined: those have no endpoints. */
  readonly dns?: DnsWatches;
}

/** For tests and tools that build backends alone: a secret of their own, no zone. */
export function defaultBalancingContext(): BalancingContext {
  return { stickySecret: randomBytes(32), localZone: undefined };
}

export class BackendState implements DnsSubscriber {
  readonly name: string;
  /**
   * Shared by every route and config version that uses the backend: rotation, in-flight counts
   * and health (ejected endpoints) survive a swap. Picks see the newest endpoints, so a request that started
   * on an older config never reaches an endpoint a newer one removed.
   */
  readonly balancer: Balancer;
  /** `policy.key` of the balancing policy the balancer was built for. */
  readonly policyKey: string;
  /** The balancer itself when the backend has sticky sessions: it says which cookie to set. */
  readonly sticky: StickyBalancer | undefined;
  /** What hashing policies hash; undefined: nothing (they pick at random). */
  hashKey: HashKey | undefined = undefined;
  /** Retries of idempotent requests by policy (5xx answers, per-try timeouts); undefined: none. */
  retries: IRRetryPolicy | undefined = undefined;
  #hashSpec = '';
  readonly #secret: StickySecret;
  #sessions: StickyIndex | undefined = undefined;
  /** Endpoint key → its shared pool, for every endpoint of the last update. */
  pools = new Map<string, EndpointPool>();
  /** Passive health: ejects endpoints that fail in a row, from the outcomes of onEnd(). */
  readonly outlier: OutlierDetector;
  #endpoints: readonly IREndpoint[] = [];
  #keys: readonly string[] = [];
  /** Active health, shared by the worker; `#checkId` names this backend's check in it. */
  readonly #health: HealthView;
  #checkId: string | undefined = undefined;
  readonly #watches: DnsWatches | undefined;
  /** A DNS backend's name and port; its endpoints are the watch's addresses at that port. */
  #dns: { readonly hostname: string; readonly port: number; readonly watch: DnsWatch } | undefined = undefined;
  #upstream: UpstreamPools | undefined = undefined;
  /** The IR backend of the last update. */
  #source: IRBackend | undefined = undefined;
  #closed = false;

  constructor(
    name: string, policy: BalancingPolicy = balancingPolicyOf(undefined), health: HealthView = new HealthView(),
    context: BalancingContext = defaultBalancingContext(),
  ) {
    this.name = name;
    const zone = policy.zone !== undefined && context.localZone !== undefined
      ? { zonePreference: { zone: context.localZone, minEndpoints: policy.zone.minEndpoints } }
      : {};
    const inner = createBalancer(policy.type, { ...zone, ...(policy.slowStartMs > 0 ? { slowStartWindowMs: policy.slowStartMs } : {}) });
    const s = policy.sticky;
    this.sticky = s === undefined ? undefined : new StickyBalancer(inner, {
      mode: s.mode, secret: context.stickySecret,
      cookie: { name: s.cookieName, ...(s.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: s.maxAgeSeconds }) },
    });
    this.balancer = this.sticky ?? inner;
    this.policyKey = policy.key;
    this.#secret = context.stickySecret;
    this.#health = health;
    this.#watches = context.dns;
    this.outlier = new OutlierDetector(name, () => this.#publish());
  }

  /** Takes the endpoints of `backend`, acquiring their pools; adds their keys to `keys`. */
  update(backend: IRBackend, upstream: UpstreamPools, keys: Set<string>): void {
    // IR objects are never mutated and a worker keeps the objects of unchanged parts, so the
    // same object means nothing to do: most backends of a new version are the same objects.
    if (backend === this.#source && upstream === this.#upstream && this.#poolsOpen()) {
      for (const key of this.pools.keys()) keys.add(key);
      return;
    }
    this.#source = backend;
    this.#upstream = upstream;
    this.#watch(backend.dns);
    this.#setHashKey(backend.policy);
    this.retries = backend.policy?.retries;
    const check = backend.policy?.healthCheck;
    const checkId = check === undefined ? undefined : healthCheckId(check);
    const returned = this.outlier.configure(backend.policy?.outlierDetection);
    const changed = checkId !== this.#checkId || returned;
    this.#checkId = checkId;
    const dns = this.#dns;
    this.#setEndpoints(dns === undefined ? backend.endpoints : dnsEndpoints(dns.watch.addresses, dns.port), changed);
    for (const key of this.pools.keys()) keys.add(key);
  }

  /** The IR backend of the last update. */
  get source(): IRBackend | undefined {
    return this.#source;
  }

  #poolsOpen(): boolean {
    for (const pool of this.pools.values()) if (pool.closed || pool.destroyed) return false;
    return true;
  }

  /** A DNS backend's watch (shared by the worker); undefined for other backends. */
  get dns(): DnsWatch | undefined {
    return this.#dns?.watch;
  }

  /** The DNS backend's name has a new answer: its addresses become the endpoints (off the request path). */
  dnsChanged(addresses: readonly string[]): void {
    const dns = this.#dns;
    if (this.#closed || dns === undefined) return;
    this.#setEndpoints(dnsEndpoints(addresses, dns.port), false);
  }

  /** Acquires the pools of `endpoints` (the ones no longer used are released by the data plane) and updates the balancer. */
  #setEndpoints(endpoints: readonly IREndpoint[], force: boolean): void {
    const upstream = this.#upstream!;
    const pools = new Map<string, EndpointPool>();
    for (const e of endpoints) pools.set(endpointKey(e.address, e.port), upstream.acquire(e.address, e.port));
    this.pools = pools;
    if (!force && sameEndpoints(this.#endpoints, endpoints)) return;
    this.#endpoints = endpoints;
    this.#keys = endpoints.map((e) => endpointKey(e.address, e.port));
    this.outlier.setEndpoints(this.#keys);
    this.#publish();
  }

  /** Follows the watch of `dns` (shared by the worker), letting go of a previous one. */
  #watch(dns: IRBackend['dns']): void {
    const old = this.#dns;
    if (old !== undefined && dns !== undefined && old.hostname === dns.hostname && old.port === dns.port) return;
    if (old !== undefined) this.#watches?.unsubscribe(old.hostname, old.port, this);
    this.#dns = undefined;
    if (dns === undefined || this.#watches === undefined) return;
    this.#dns = { hostname: dns.hostname, port: dns.port, watch: this.#watches.subscribe(dns.hostname, dns.port, this) };
  }

  /**
   * An endpoint for a request (hot path): the hash key and the sticky cookie are read into
   * `ctx`, which the caller keeps for the Set-Cookie of the answer.
   */
  pick(ctx: PickContext, req: HashRequest): Endpoint | undefined {
    ctx.hash = this.hashKey === undefined ? undefined : this.hashKey.hash(req);
    ctx.sticky = this.sticky === undefined ? undefined : cookieValue(req.rawHeaders, this.sticky.cookieName);
    return this.balancer.pick(ctx);
  }

  /** Tag ↔ endpoint for HTTPRoute session persistence over this backend's balancer; built on first use. */
  sessions(): StickyIndex {
    return (this.#sessions ??= new StickyIndex(this.balancer, stickyKey(this.#secret)));
  }

  #setHashKey(policy: IRBackendPolicy | undefined): void {
    const spec = policy?.hashKey;
    const text = spec === undefined ? '' : JSON.stringify(spec);
    if (text === this.#hashSpec) return;
    this.#hashSpec = text;
    this.hashKey = spec === undefined ? undefined : createHashKey(spec);
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
    this.#closed = true;
    this.outlier.close();
    const dns = this.#dns;
    if (dns !== undefined) this.#watches?.unsubscribe(dns.hostname, dns.port, this);
  }

  /** Out of the first tier: unhealthy by the active check or ejected as an outlier (panic keeps them usable when all are). */
  #ejected(key: string): boolean {
    return (this.#checkId !== undefined && this.#health.isUnhealthy(healthKeyOf(this.#checkId, key))) || this.outlier.isEjected(key);
  }

  #publish(): void {
    this.balancer.update(this.#endpoints.map((e, i) => endpointInput(e, this.#keys[i], this.#ejected(this.#keys[i]))));
  }
}

/** The endpoints of a DNS answer: every address at `port`, ready. */
function dnsEndpoints(addresses: readonly string[], port: number): IREndpoint[] {
  return addresses.map((address) => ({ address, port }));
}

function endpointInput(e: IREndpoint, key: string, ejected: boolean): EndpointInput {
  return {
    key,
    ready: endpointReady(e),
    serving: endpointServing(e),
    terminating: endpointTerminating(e),
    ...(e.zone === undefined ? {} : { zone: e.zone }),
    ...(e.forZones === undefined ? {} : { forZones: e.forZones }),
    ...(ejected ? { ejected } : {}),
  };
}

function sameEndpoints(a: readonly IREndpoint[], b: readonly IREndpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.address !== y.address || x.port !== y.port || x.zone !== y.zone || String(x.forZones) !== String(y.forZones) || endpointReady(x) !== endpointReady(y)
      || endpointServing(x) !== endpointServing(y) || endpointTerminating(x) !== endpointTerminating(y)) return false;
  }
  return true;
}
