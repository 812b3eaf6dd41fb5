// Writes the computed statuses to the API server's status subresource; only the leader writes.
//
// The writer keeps the latest desired status per object (latest wins) and a queue of objects
// whose desired status changed. For each, it reads the live object, merges (status-merge.ts),
// and writes only when the result differs from live, with the live resourceVersion; a 409
// Conflict re-reads and re-merges. An object that no longer exists is dropped. Nothing is
// written on a timer: an idle cluster costs no writes. When this replica becomes leader,
// `reconcileAll()` reads every known object once and writes only what differs.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { ObjectStatus } from '../../api/index.ts';
import type { Logger } from '../../observability/index.ts';
import { contentHash, immutableHash } from '../../util/index.ts';
import { callOptions, describeError, httpStatusOf } from './api-request.ts';
import { sameStatus } from './status-merge.ts';
import { STATUS_RESOURCES, findStatusResource, type StatusResource } from './status-resources.ts';

export interface StatusWriterOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** Waygate's controllerName (GatewayClass `spec.controllerName`, route `status.parents[].controllerName`). */
  readonly controllerName: string;
  /** Asked before every read and write: a replica that is not the leader never writes. */
  readonly isLeader: () => boolean;
  /** Objects read and written at the same time (default 4). */
  readonly concurrency?: number;
  /** 409 Conflicts retried at once before the object is retried later with backoff (default 5). */
  readonly maxConflictRetries?: number;
  /** First delay before retrying an object after an error; doubles up to 30 s (default 1 s). */
  readonly retryDelayMs?: number;
  /** Deadline of each API call (default 10 s). */
  readonly requestTimeoutMs?: number;
  readonly resources?: readonly StatusResource[];
  /**
   * The provider's view (`KubernetesProvider` options of the same names): the search for routes
   * left with Waygate entries looks only where this instance reads, so it never clears entries
   * of another instance that shares the cluster.
   */
  readonly namespace?: string;
  readonly labelSelector?: string;
  /** Clock for conditions that arrive without a lastTransitionTime. */
  readonly now?: () => Date;
}

export interface StatusWriterStats {
  /** Successful status writes. */
  readonly writes: number;
  /** Writes refused with 409 Conflict (each was re-read and re-merged). */
  readonly conflicts: number;
  /** Live objects read. */
  readonly reads: number;
  /** Objects read whose live status already was the desired one. */
  readonly unchanged: number;
  /** Objects skipped because they no longer exist. */
  readonly notFound: number;
  /** Failed calls other than conflicts and 404s (retried later). */
  readonly errors: number;
  /** Successful writes per object, keyed `Kind/namespace/name`. */
  readonly writesByObject: ReadonlyMap<string, number>;
}

interface Desired {
  readonly resource: StatusResource;
  readonly namespace?: string;
  readonly name: string;
  readonly status: unknown;
  readonly hash: string;
  /** A route Waygate no longer has a say on: remove its entries, then forget the route. */
  readonly release: boolean;
}

const MAX_RETRY_DELAY_MS = 30_000;

interface RouteList {
  readonly items?: readonly {
    readonly metadata?: { readonly namespace?: string; readonly name?: string };
    readonly status?: { readonly parents?: readonly { readonly controllerName?: string }[] };
  }[];
}

export function statusKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

export class StatusWriter {
  readonly #opts: StatusWriterOptions;
  readonly #api: CustomObjectsApi;
  readonly #resources: readonly StatusResource[];
  readonly #concurrency: number;
  readonly #desired = new Map<string, Desired>();
  /** Keys waiting to be reconciled, in arrival order; a key is in here once (coalescing). */
  readonly #pending = new Set<string>();
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #retries = new Map<string, { timer: NodeJS.Timeout; attempts: number }>();
  readonly #failures = new Map<string, number>();
  readonly #unknownKinds = new Set<string>();
  #running = false;
  #updated = false;
  #sweepWanted = false;
  #sweep: Promise<void> | undefined;
  #abort = new AbortController();
  #settledWaiters: (() => void)[] = [];
  #stats = { writes: 0, conflicts: 0, reads: 0, unchanged: 0, notFound: 0, errors: 0 };
  readonly #writesByObject = new Map<string, number>();

  constructor(options: StatusWriterOptions) {
    this.#opts = options;
    this.#resources = options.resources ?? STATUS_RESOURCES;
    this.#concurrency = Math.max(1, options.concurrency ?? 4);
    this.#api = options.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** The latest computed statuses (all of them, as `Controller.onStatuses` gives them). */
  update(statuses: readonly ObjectStatus[]): void {
    this.#updated = true;
    const seen = new Set<string>();
    for (const s of statuses) {
      const resource = this.#resourceOf(s);
      if (!resource || s.status === null || s.status === undefined) continue;
      const key = statusKey(s.kind, s.metadata.namespace, s.metadata.name);
      seen.add(key);
      // Statuses are never mutated, and the controller hands unchanged ones over as the same
      // objects: hashing them again is a lookup, not 5,000 serialisations per change.
      const hash = typeof s.status === 'object' ? immutableHash(s.status) : contentHash(s.status);
      const prev = this.#desired.get(key);
      if (prev && !prev.release && prev.hash === hash) continue;
      this.#desired.set(key, { resource, namespace: s.metadata.namespace, name: s.metadata.name, status: s.status, hash, release: false });
      this.#enqueue(key);
    }
    for (const [key, d] of this.#desired) {
      if (seen.has(key) || d.release) continue;
      if (d.resource.ownership === 'route-parents') {
        this.#desired.set(key, { ...d, status: { parents: [] }, hash: '', release: true });
        this.#enqueue(key);
      } else {
        // Waygate no longer has a say on this object's status: whoever has, writes it.
        this.#desired.delete(key);
        this.#pending.delete(key);
      }
    }
    if (this.#sweepWanted) this.#startSweep();
    this.#pump();
  }

  /**
   * Read every known object once and write what differs: call it when this replica becomes
   * leader (another leader may have written since). Also finds routes that still carry
   * Waygate's entries although Waygate no longer computes a status for them.
   */
  reconcileAll(): void {
    for (const key of this.#desired.keys()) this.#enqueue(key);
    this.#sweepWanted = true;
    if (this.#updated) this.#startSweep();
    this.#pump();
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    if (this.#sweepWanted && this.#updated) this.#startSweep();
    this.#pump();
  }

  /** Stop writing; waits for calls in flight. Desired statuses are kept for a later start(). */
  async stop(): Promise<void> {
    this.#running = false;
    this.#abort.abort();
    for (const { timer } of this.#retries.values()) clearTimeout(timer);
    for (const key of this.#retries.keys()) this.#pending.add(key);
    this.#retries.clear();
    await Promise.allSettled([...this.#inFlight.values(), this.#sweep]);
    this.#notifySettled();
  }

  /** Resolves when nothing is queued, in flight or waiting for a retry. */
  settled(): Promise<void> {
    if (this.#isSettled()) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  stats(): StatusWriterStats {
    return { ...this.#stats, writesByObject: new Map(this.#writesByObject) };
  }

  #resourceOf(s: ObjectStatus): StatusResource | undefined {
    const resource = findStatusResource(this.#resources, s.apiVersion, s.kind);
    if (!resource && !this.#unknownKinds.has(`${s.apiVersion}/${s.kind}`)) {
      this.#unknownKinds.add(`${s.apiVersion}/${s.kind}`);
      this.#opts.logger.warn({ apiVersion: s.apiVersion, kind: s.kind }, 'no status resource registered for this kind; its status is not written');
    }
    return resource;
  }

  #enqueue(key: string): void {
    const retry = this.#retries.get(key);
    if (retry) {
      clearTimeout(retry.timer);
      this.#retries.delete(key);
    }
    this.#pending.add(key);
  }

  #pump(): void {
    if (!this.#running) return;
    for (const key of this.#pending) {
      if (this.#inFlight.size >= this.#concurrency) break;
      if (this.#inFlight.has(key)) continue; // reconciled again once the current call ends
      this.#pending.delete(key);
      const work = this.#reconcile(key)
        .then(() => void this.#failures.delete(key), (err: unknown) => this.#retryLater(key, err))
        .finally(() => {
          this.#inFlight.delete(key);
          this.#pump();
          this.#notifySettled();
        });
      this.#inFlight.set(key, work);
    }
    this.#notifySettled();
  }

  /** Read, merge, compare, write; on 409 read again. */
  async #reconcile(key: string): Promise<void> {
    const max = this.#opts.maxConflictRetries ?? 5;
    for (let attempt = 0; ; attempt++) {
      const want = this.#desired.get(key);
      if (!want || !this.#running || !this.#opts.isLeader()) return;
      const live = await this.#read(want);
      if (live === undefined) {
        this.#stats.notFound++;
        if (this.#desired.get(key) === want) this.#desired.delete(key);
        return;
      }
      const context = { controllerName: this.#opts.controllerName, namespace: want.namespace, now: this.#now() };
      const merged = want.resource.merge(live.status, want.status, context);
      if (sameStatus(merged, live.status)) {
        this.#stats.unchanged++;
        this.#done(key, want);
        return;
      }
      if (!this.#running || !this.#opts.isLeader()) return;
      try {
        await this.#write(want, { ...live, status: merged });
      } catch (err) {
        if (httpStatusOf(err) === 404) {
          this.#stats.notFound++;
          if (this.#desired.get(key) === want) this.#desired.delete(key);
          return;
        }
        if (httpStatusOf(err) !== 409) throw err;
        this.#stats.conflicts++;
        if (attempt >= max) throw err;
        continue;
      }
      this.#stats.writes++;
      this.#writesByObject.set(key, (this.#writesByObject.get(key) ?? 0) + 1);
      this.#done(key, want);
      return;
    }
  }

  #done(key: string, want: Desired): void {
    if (want.release && this.#desired.get(key) === want) this.#desired.delete(key);
  }

  async #read(want: Desired): Promise<Record<string, unknown> & { status?: unknown } | undefined> {
    const { group, version, plural } = want.resource;
    const options = callOptions(this.#opts.requestTimeoutMs ?? 10_000, this.#abort.signal);
    this.#stats.reads++;
    try {
      return want.resource.namespaced
        ? await this.#api.getNamespacedCustomObjectStatus({ group, version, plural, namespace: want.namespace ?? '', name: want.name }, options)
        : await this.#api.getClusterCustomObjectStatus({ group, version, plural, name: want.name }, options);
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  }

  async #write(want: Desired, body: object): Promise<void> {
    const { group, version, plural } = want.resource;
    const options = callOptions(this.#opts.requestTimeoutMs ?? 10_000, this.#abort.signal);
    if (want.resource.namespaced) {
      await this.#api.replaceNamespacedCustomObjectStatus({ group, version, plural, namespace: want.namespace ?? '', name: want.name, body }, options);
    } else {
      await this.#api.replaceClusterCustomObjectStatus({ group, version, plural, name: want.name, body }, options);
    }
  }

  #retryLater(key: string, err: unknown): void {
    if (!this.#running) return; // stopping aborts calls in flight: not a failure
    if (httpStatusOf(err) !== 409) this.#stats.errors++;
    if (!this.#desired.has(key)) return;
    const attempts = (this.#failures.get(key) ?? 0) + 1;
    this.#failures.set(key, attempts);
    const delay = Math.min(MAX_RETRY_DELAY_MS, (this.#opts.retryDelayMs ?? 1000) * 2 ** (attempts - 1));
    this.#opts.logger.warn({ object: key, error: describeError(err), retryInMs: delay }, 'could not write status; retrying');
    const timer = setTimeout(() => {
      this.#retries.delete(key);
      this.#pending.add(key);
      this.#pump();
    }, delay);
    this.#retries.set(key, { timer, attempts });
  }

  /** List each route kind once and queue the routes that carry Waygate entries it no longer computes. */
  #startSweep(): void {
    if (!this.#running || this.#sweep || !this.#opts.isLeader()) return;
    this.#sweepWanted = false;
    this.#sweep = this.#sweepRoutes()
      .catch((err: unknown) => {
        this.#stats.errors++;
        this.#opts.logger.warn({ error: describeError(err) }, 'could not list routes to find stale Waygate entries');
      })
      .finally(() => {
        this.#sweep = undefined;
        this.#pump();
      });
  }

  async #sweepRoutes(): Promise<void> {
    for (const resource of this.#resources) {
      if (resource.ownership !== 'route-parents') continue;
      const { group, version, plural } = resource;
      const { namespace: only, labelSelector } = this.#opts;
      const options = callOptions(this.#opts.requestTimeoutMs ?? 10_000, this.#abort.signal);
      const list = (only
        ? await this.#api.listNamespacedCustomObject({ group, version, plural, namespace: only, labelSelector }, options)
        : await this.#api.listClusterCustomObject({ group, version, plural, labelSelector }, options)) as RouteList;
      for (const item of list.items ?? []) {
        const { namespace, name } = item.metadata ?? {};
        if (!name || !(item.status?.parents ?? []).some((p) => p.controllerName === this.#opts.controllerName)) continue;
        const key = statusKey(resource.kind, namespace, name);
        if (this.#desired.has(key)) continue;
        this.#desired.set(key, { resource, namespace, name, status: { parents: [] }, hash: '', release: true });
        this.#enqueue(key);
      }
    }
  }

  #now(): string {
    return (this.#opts.now?.() ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
  }

  #isSettled(): boolean {
    return this.#inFlight.size === 0 && this.#retries.size === 0 && this.#sweep === undefined && (this.#pending.size === 0 || !this.#running);
  }

  #notifySettled(): void {
    if (!this.#isSettled() || this.#settledWaiters.length === 0) return;
    const waiters = this.#settledWaiters;
    this.#settledWaiters = [];
    for (const w of waiters) w();
  }
}
