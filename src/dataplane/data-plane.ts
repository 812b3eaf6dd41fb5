// The data plane of one worker: binds, the live config (one reference, swapped by apply()),
// and the upstream pools. Zero-downtime rules: docs/architecture.md §6.
import { compile } from '../compiler/index.ts';
import type { IR, IRBind } from '../ir/index.ts';
import { randomBytes } from 'node:crypto';
import type { BalancingContext } from './backend-state.ts';
import { BindListener } from './bind-listener.ts';
import { DnsWatches } from './dns/dns-watches.ts';
import type { ResolveFn } from './dns/resolver.ts';
import { HealthView, type HealthUpdate } from './health/health-view.ts';
import type { StickySecret } from './lb/index.ts';
import { DEFAULT_LIMITS, type ProxyLimits } from './limits.ts';
import { buildLiveConfig, type LiveConfig } from './live-config.ts';
import type { ProxyContext } from './proxy.ts';
import { UpstreamPools } from './upstream-pools.ts';

export interface DataPlaneOptions {
  /** Bind with SO_REUSEPORT so several worker processes can share each port (Linux). */
  readonly reusePort?: boolean;
  readonly limits?: Partial<ProxyLimits>;
  /** The zone this proxy runs in (`--zone`): backends with zone preference favour endpoints there. */
  readonly zone?: string;
  /**
   * Signs sticky cookies and session tokens; every worker and replica needs the same one, or
   * clients move when they reach another. Default: random, this data plane only.
   */
  readonly stickySecret?: StickySecret;
  /** How DNS backends (ExternalName) are resolved; default `systemResolve()`. */
  readonly resolve?: ResolveFn;
}

export interface ApplyResult {
  readonly version: string;
  /** Every bind of the IR; `error` says why one could not listen (the others keep working). */
  readonly binds: { name: string; error?: string }[];
}

/**
 * Where the time of one apply went, for benchmarks and debugging. Instants are wall-clock
 * milliseconds with a fraction (`performance.timeOrigin + now()`), comparable across processes.
 */
export interface ApplyTimings {
  readonly version: string;
  /** When this apply started (after the ones queued before it). */
  readonly startedAt: number;
  readonly compileMs: number;
  /** Building the live config: route and backend state, pools. */
  readonly buildMs: number;
  /** The swap: requests that start from here on use the new config. */
  readonly liveAt: number;
}

export class DataPlane implements ProxyContext {
  live: LiveConfig | undefined = undefined;
  readonly pools: UpstreamPools;
  readonly limits: ProxyLimits;
  /** Active health checks' results, from the node's checker; read by every backend's balancer. */
  readonly health = new HealthView();
  readonly #reusePort: boolean;
  readonly #balancing: BalancingContext;
  readonly #binds = new Map<string, BindListener>();
  readonly #draining = new Set<Promise<void>>();
  /** One watch per DNS backend name and port, shared by every config version. */
  readonly #dns: DnsWatches;
  /** The config an apply is building, until its swap: its pools are in use too. */
  #building: LiveConfig | undefined = undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #lastApply: ApplyTimings | undefined;

  constructor(options: DataPlaneOptions = {}) {
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...options.limits });
    this.#reusePort = options.reusePort ?? false;
    const secret = options.stickySecret !== undefined && options.stickySecret.length > 0 ? options.stickySecret : randomBytes(32);
    this.pools = new UpstreamPools(this.limits);
    this.#dns = new DnsWatches(options.resolve === undefined ? {} : { resolve: options.resolve }, () => this.#releaseUnused());
    this.#balancing = { stickySecret: secret, localZone: options.zone || undefined, dns: this.#dns };
  }

  /** Version of the live config, undefined before the first apply(). */
  get version(): string | undefined {
    return this.live?.version;
  }

  /** Where the time of the last apply went. */
  get lastApply(): ApplyTimings | undefined {
    return this.#lastApply;
  }

  /** Bind name → the port actually bound, for binds that are listening. */
  boundPorts(): Map<string, number> {
    return new Map([...this.#binds].map(([name, b]) => [name, b.port]));
  }

  /** Endpoint keys (`address:port`) that have an open upstream pool. */
  poolKeys(): string[] {
    return this.pools.keys();
  }

  /** `hostname:port` of every DNS backend being resolved. */
  dnsKeys(): string[] {
    return this.#dns.keys();
  }

  /** Makes `ir` live. Calls are applied one after another in call order. */
  apply(version: string, ir: IR): Promise<ApplyResult> {
    const run = this.#queue.then(() => this.#apply(version, ir));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #apply(version: string, ir: IR): Promise<ApplyResult> {
    if (this.#closed) throw new Error('data plane is closed');
    const previous = this.live;
    const t0 = performance.now();
    const compiled = compile(ir);
    const t1 = performance.now();
    const next = buildLiveConfig(version, compiled, this.pools, previous, this.health, this.#balancing);
    const t2 = performance.now();
    this.#building = next;
    const opened: BindListener[] = [];
    const results = await Promise.all(ir.binds.map(async (bind) => {
      if (this.#binds.has(bind.name)) return { name: bind.name };
      const error = await this.#open(bind, next, opened);
      return error === undefined ? { name: bind.name } : { name: bind.name, error };
    }));
    // The swap: every request that starts from here on uses `next`.
    this.live = next;
    this.#building = undefined;
    const liveAt = performance.timeOrigin + performance.now();
    for (const listener of opened) listener.pinned = undefined;
    const wanted = new Set(ir.binds.map((b) => b.name));
    for (const [name, listener] of this.#binds) {
      if (wanted.has(name)) continue;
      this.#binds.delete(name);
      this.#track(listener.drain(previous, this.limits.drainTimeoutMs));
    }
    // Not next.endpointKeys: a DNS answer may have changed a backend's endpoints since the build.
    this.#releaseUnused();
    this.#lastApply = { version, startedAt: performance.timeOrigin + t0, compileMs: t1 - t0, buildMs: t2 - t1, liveAt };
    return { version, binds: results };
  }

  /** Takes health check results (changes, or a full view); balancers of the backends concerned are updated. */
  applyHealth(update: HealthUpdate): void {
    if (!this.health.apply(update)) return;
    for (const backend of this.live?.backends.values() ?? []) backend.refreshHealth();
  }

  /** Closes gracefully the pools no backend of the live (or the building) config uses. */
  #releaseUnused(): void {
    if (this.#closed) return;
    const keep = new Set<string>();
    for (const config of [this.live, this.#building]) {
      for (const backend of config?.backends.values() ?? []) for (const key of backend.pools.keys()) keep.add(key);
    }
    this.pools.release(keep);
  }

  async #open(bind: IRBind, next: LiveConfig, opened: BindListener[]): Promise<string | undefined> {
    const listener = new BindListener(this, bind.name, this.limits);
    // Until the swap, a new bind serves the incoming config (the live one does not know it).
    listener.pinned = next;
    try {
      await listener.listen(bind.address, bind.port, this.#reusePort);
    } catch (err) {
      return `${(err as NodeJS.ErrnoException).code ?? 'ERROR'}: ${(err as Error).message}`;
    }
    this.#binds.set(bind.name, listener);
    opened.push(listener);
    return undefined;
  }

  #track(drained: Promise<void>): void {
    this.#draining.add(drained);
    void drained.then(() => this.#draining.delete(drained));
  }

  /**
   * Drains every bind (in-flight requests finish, keep-alive answers say `Connection: close`,
   * connections still busy after `graceMs` are cut), then closes the upstream pools.
   */
  async close(graceMs: number = this.limits.drainTimeoutMs): Promise<void> {
    await this.#queue;
    this.#closed = true;
    for (const [name, listener] of this.#binds) {
      this.#binds.delete(name);
      this.#track(listener.drain(this.live, graceMs));
    }
    await Promise.all(this.#draining);
    for (const backend of this.live?.backends.values() ?? []) backend.close();
    this.#dns.close();
    await Promise.all(this.pools.release(new Set()));
  }
}
