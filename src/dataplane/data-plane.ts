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
import { SecureContexts } from './tls/secure-contexts.ts';
import { buildSniTable, type SniTable } from './tls/sni-table.ts';
import { ticketKeysFor } from './tls/ticket-keys.ts';

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
  /** Certificates' secure contexts, reused across versions while their content is unchanged. */
  readonly #certificates = new SecureContexts();
  /** HTTPS binds' server name tables of the live config, by bind name. */
  #sni = new Map<string, SniTable>();
  readonly #ticketSecret: Uint8Array;
  #ticketKeys: Buffer;
  readonly #ticketTimer: NodeJS.Timeout;

  constructor(options: DataPlaneOptions = {}) {
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...options.limits });
    this.#reusePort = options.reusePort ?? false;
    const secret = options.stickySecret !== undefined && options.stickySecret.length > 0 ? options.stickySecret : randomBytes(32);
    this.pools = new UpstreamPools(this.limits);
    this.#dns = new DnsWatches(options.resolve === undefined ? {} : { resolve: options.resolve }, () => this.#releaseUnused());
    this.#balancing = { stickySecret: secret, localZone: options.zone || undefined, dns: this.#dns };
    // Derived from the fleet's secret: every worker and replica that shares it resumes the others' sessions.
    this.#ticketSecret = typeof secret === 'string' ? Buffer.from(secret) : secret;
    this.#ticketKeys = ticketKeysFor(this.#ticketSecret, Date.now());
    this.#ticketTimer = setInterval(() => this.#rotateTicketKeys(), 60_000).unref();
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
    const sni = this.#buildSni(ir);
    const opened: BindListener[] = [];
    const results = await Promise.all(ir.binds.map(async (bind) => {
      if (this.#binds.get(bind.name)?.protocol === bind.protocol) return { name: bind.name };
      const error = await this.#replace(bind, next, previous, opened, sni.get(bind.name));
      return error === undefined ? { name: bind.name } : { name: bind.name, error };
    }));
    // The swap: every request that starts from here on uses `next`, every handshake its certificates.
    this.live = next;
    this.#sni = sni;
    for (const [name, table] of sni) this.#binds.get(name)?.setTls(table, this.#ticketKeys);
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

  /** HTTPS binds' server name tables for `ir`; the certificates they use are loaded (once per content). */
  #buildSni(ir: IR): Map<string, SniTable> {
    const loaded = this.#certificates.load(ir.certificates ?? []);
    const tables = new Map<string, SniTable>();
    for (const bind of ir.binds) if (bind.protocol === 'HTTPS') tables.set(bind.name, buildSniTable(bind, loaded));
    return tables;
  }

  /**
   * Opens a bind that is new, or whose protocol changed (HTTP ↔ HTTPS on the same address and
   * port): the old socket is drained. With `reusePort` the new socket opens first, so no
   * connection is refused; without it the old one must stop listening first.
   */
  async #replace(bind: IRBind, next: LiveConfig, previous: LiveConfig | undefined, opened: BindListener[], sni: SniTable | undefined): Promise<string | undefined> {
    const old = this.#binds.get(bind.name);
    let retired = old === undefined;
    const retire = (): void => {
      if (retired) return;
      retired = true;
      if (this.#binds.get(bind.name) === old) this.#binds.delete(bind.name);
      this.#track(old!.drain(previous, this.limits.drainTimeoutMs));
    };
    if (!this.#reusePort) retire();
    const error = await this.#open(bind, next, opened, sni);
    retire();
    return error;
  }

  async #open(bind: IRBind, next: LiveConfig, opened: BindListener[], sni: SniTable | undefined): Promise<string | undefined> {
    const listener = new BindListener(this, bind.name, this.limits, bind.protocol);
    // Until the swap, a new bind serves the incoming config (the live one does not know it).
    listener.pinned = next;
    if (sni !== undefined) listener.setTls(sni, this.#ticketKeys);
    try {
      await listener.listen(bind.address, bind.port, this.#reusePort);
    } catch (err) {
      return `${(err as NodeJS.ErrnoException).code ?? 'ERROR'}: ${(err as Error).message}`;
    }
    this.#binds.set(bind.name, listener);
    opened.push(listener);
    return undefined;
  }

  /** A new ticket key period: HTTPS binds encrypt new session tickets with its key. */
  #rotateTicketKeys(): void {
    const keys = ticketKeysFor(this.#ticketSecret, Date.now());
    if (keys.equals(this.#ticketKeys)) return;
    this.#ticketKeys = keys;
    for (const [name, table] of this.#sni) this.#binds.get(name)?.setTls(table, keys);
  }

  /** Why certificates of HTTPS listeners cannot be served, by bind name (empty when all can). */
  tlsErrors(): Map<string, readonly string[]> {
    return new Map([...this.#sni].filter(([, t]) => t.errors.length > 0).map(([name, t]) => [name, t.errors]));
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
    clearInterval(this.#ticketTimer);
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
