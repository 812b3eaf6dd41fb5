// One client-node ListWatch, supervised. ListWatch lists, watches and relists on 410 Gone, but
// after any other error it only calls its error handlers and stops, and a stop() racing a
// connect can leave a watch open. Here every error restarts it with backoff, a 404 (the
// resource is not served: a CRD not installed) disables the kind and checks again later, and
// stop() ends every request, timer and socket.
import { ListWatch, Watch, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import type { KubeObject } from '../../api/index.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { collectionPath, type KubernetesKind } from './kinds.ts';
import { listObjects } from './list-objects.ts';

export type InformerState = 'pending' | 'synced' | 'retrying' | 'disabled' | 'stopped';

export interface InformerHealth {
  readonly state: InformerState;
  /** Listed at least once since it was (re)enabled: its objects are a whole view of the cluster. */
  readonly synced: boolean;
  /** When the state last changed (ISO 8601). */
  readonly since: string;
  readonly lastError?: string;
  /** Failures since the watch last connected. */
  readonly failures: number;
}

export interface InformerOptions {
  readonly kubeConfig: KubeConfig;
  readonly kind: KubernetesKind;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly backoff?: BackoffOptions;
  /** How often a kind that is not served is looked for again. */
  readonly recheckMs: number;
  /** A server that sends an ERROR event should close the stream; if it does not, it is closed after this. */
  readonly errorCloseMs?: number;
  readonly onChange: () => void;
  readonly onState: (previous: InformerHealth, next: InformerHealth) => void;
}

/** Thrown by a list that finished after its informer was stopped or replaced. */
class StaleSession extends Error {}

export class SupervisedInformer {
  readonly #opts: InformerOptions;
  readonly #path: string;
  readonly #backoff: Backoff;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #requests = new Set<AbortController>();
  #lw: ListWatch<KubernetesObject> | undefined;
  /** Bumped whenever the ListWatch is replaced or stopped: callbacks of older ones are ignored. */
  #session = 0;
  #state: InformerState = 'pending';
  #synced = false;
  #since = new Date().toISOString();
  #lastError: string | undefined;
  #restart: NodeJS.Timeout | undefined;
  #justListed = false;
  #settle!: () => void;
  readonly #settled = new Promise<void>((resolve) => (this.#settle = resolve));

  constructor(options: InformerOptions) {
    this.#opts = options;
    this.#path = collectionPath(options.kind, options.namespace);
    this.#backoff = new Backoff(options.backoff);
  }

  get kind(): KubernetesKind {
    return this.#opts.kind;
  }

  start(): void {
    if (this.#state === 'stopped' || this.#lw) return;
    this.#open();
  }

  /** Resolves once the kind has synced for the first time or turned out not to be served. */
  settled(): Promise<void> {
    return this.#settled;
  }

  /** The objects as last seen (kept while retrying; none while disabled). */
  objects(): KubeObject[] {
    if (this.#state === 'disabled' || !this.#synced || !this.#lw) return [];
    return this.#lw.list() as unknown as KubeObject[];
  }

  health(): InformerHealth {
    return { state: this.#state, synced: this.#synced, since: this.#since, lastError: this.#lastError, failures: this.#backoff.failures };
  }

  async stop(): Promise<void> {
    this.#session++;
    this.#setState('stopped');
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    const lw = this.#lw;
    this.#lw = undefined;
    this.#abortRequests();
    await lw?.stop();
    this.#settle();
  }

  #open(): void {
    const session = ++this.#session;
    const { labelSelector, fieldSelector } = this.#opts;
    const lw = new ListWatch<KubernetesObject>(this.#path, this.#watchFor(session), () => this.#list(session) as never, false,
      labelSelector, fieldSelector, { delayFn: (ms) => this.#sleep(Math.min(ms, this.#backoff.maxMs)) });
    const changed = () => {
      if (session === this.#session && this.#synced) this.#opts.onChange();
    };
    lw.on('add', changed);
    lw.on('update', changed);
    lw.on('delete', changed);
    lw.on('error', (err) => this.#onError(session, err));
    this.#lw = lw;
    lw.start().catch((err) => this.#onError(session, err));
  }

  async #list(session: number): Promise<{ metadata: { resourceVersion?: string }; items: KubeObject[] }> {
    const abort = new AbortController();
    this.#requests.add(abort);
    try {
      const { kubeConfig, labelSelector, fieldSelector, kind } = this.#opts;
      const list = await listObjects(kubeConfig, { path: this.#path, labelSelector, fieldSelector, signal: abort.signal });
      if (session !== this.#session) throw new StaleSession();
      this.#justListed = true;
      return { metadata: list.metadata, items: list.items.map((o) => normalize(kind, o)) };
    } finally {
      this.#requests.delete(abort);
    }
  }

  /** The Watch handed to ListWatch: objects normalized, bookmarks asked for, requests tracked. */
  #watchFor(session: number): Watch {
    const informer = this;
    return new (class extends Watch {
      override async watch(path: string, query: Record<string, string | number | boolean | undefined>, callback: (phase: string, obj: any, watchObj?: any) => void, done: (err: any) => void): Promise<AbortController> {
        return informer.#watch(session, (q, cb, d) => super.watch(path, q, cb, d), query, callback, done);
      }
    })(this.#opts.kubeConfig);
  }

  async #watch(
    session: number,
    open: (query: Record<string, string | number | boolean | undefined>, cb: (phase: string, obj: any, watchObj?: any) => void, done: (err: any) => void) => Promise<AbortController>,
    query: Record<string, string | number | boolean | undefined>, callback: (phase: string, obj: any, watchObj?: any) => void, done: (err: any) => void,
  ): Promise<AbortController> {
    const idle = new AbortController();
    idle.abort();
    if (session !== this.#session) return idle;
    // ListWatch opens a watch right after applying a list: the cache is now a whole view.
    if (this.#justListed) {
      this.#justListed = false;
      this.#markSynced();
    }
    let controller: AbortController | undefined;
    let ended = false;
    let closedAfterError = false;
    let errorTimer: NodeJS.Timeout | undefined;
    const onEvent = (phase: string, obj: any, watchObj?: any) => {
      if (phase === 'ERROR' && !errorTimer) {
        errorTimer = this.#after(this.#opts.errorCloseMs ?? 1000, () => {
          closedAfterError = true;
          controller?.abort();
        });
      }
      const object = phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? normalize(this.#opts.kind, obj) : obj;
      callback(phase, object, watchObj);
    };
    const onDone = (err: any) => {
      ended = true;
      if (errorTimer) this.#cancel(errorTimer);
      if (controller) this.#requests.delete(controller);
      done(closedAfterError ? null : err);
    };
    try {
      controller = await open({ ...query, allowWatchBookmarks: true }, onEvent, onDone);
    } catch (err) {
      onDone(err);
      return idle;
    }
    if (session !== this.#session) controller.abort();
    else if (!ended) {
      this.#requests.add(controller);
      this.#connected();
    }
    return controller;
  }

  #markSynced(): void {
    const first = !this.#synced;
    this.#synced = true;
    this.#lastError = undefined;
    this.#setState('synced');
    if (first) {
      this.#settle();
      this.#opts.onChange();
    }
  }

  #connected(): void {
    this.#backoff.reset();
    this.#lastError = undefined;
    this.#setState('synced');
  }

  #onError(session: number, err: unknown): void {
    if (session !== this.#session || err instanceof StaleSession) return;
    const status = statusCode(err);
    if (status === 404 || (status === 403 && this.#opts.kind.readIfPermitted)) return this.#disable(status);
    this.#lastError = describeError(err);
    const delay = this.#backoff.next();
    this.#setState('retrying');
    if (this.#restart) return;
    this.#restart = this.#after(delay, () => {
      this.#restart = undefined;
      if (session === this.#session) this.#lw?.start().catch((e) => this.#onError(session, e));
    });
  }

  /** Not served (404), or not permitted (403) for a kind read only if permitted: forget the objects, drop the ListWatch, and look again later. */
  #disable(status: 403 | 404): void {
    const lw = this.#lw;
    this.#session++;
    this.#lw = undefined;
    this.#abortRequests();
    void lw?.stop();
    const wasSynced = this.#synced;
    this.#synced = false;
    const path = this.#path.replace(/\/namespaces\/[^/]+/, '');
    this.#lastError = status === 404 ? `the API server does not serve ${path} (404)` : `RBAC does not let Waygate list and watch ${path} (403)`;
    this.#backoff.reset();
    this.#setState('disabled');
    this.#settle();
    if (wasSynced) this.#opts.onChange();
    this.#after(this.#opts.recheckMs, () => this.#open());
  }

  #setState(state: InformerState): void {
    if (state === this.#state) return;
    const previous = this.health();
    this.#state = state;
    this.#since = new Date().toISOString();
    this.#opts.onState(previous, this.health());
  }

  #abortRequests(): void {
    for (const c of this.#requests) c.abort();
    this.#requests.clear();
  }

  #after(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      fn();
    }, ms);
    this.#timers.add(timer);
    return timer;
  }

  #cancel(timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  /** ListWatch's delay before it re-watches; never resolves once stopped (the timer is cleared). */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#after(ms, resolve));
  }
}

/**
 * Objects enter the store with apiVersion and kind (list items lack them) and without
 * managedFields; of a `metadataOnly` kind (a CRD: its schema can weigh a megabyte), nothing else.
 */
function normalize(kind: KubernetesKind, obj: any): KubeObject {
  const { managedFields: _, ...metadata } = obj?.metadata ?? {};
  if (kind.metadataOnly) return { apiVersion: kind.apiVersion, kind: kind.kind, metadata } as KubeObject;
  return { ...obj, apiVersion: kind.apiVersion, kind: kind.kind, metadata } as KubeObject;
}

/** The HTTP status of a client-node error: ApiException.code (lists) or statusCode (watches). */
function statusCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e?.statusCode === 'number') return e.statusCode;
  if (typeof e?.code === 'number') return e.code;
  return undefined;
}

function describeError(err: unknown): string {
  const e = err as { code?: unknown; body?: any; message?: string; cause?: { code?: string; message?: string } };
  const status = statusCode(err);
  if (status !== undefined) {
    const message = typeof e.body === 'object' && e.body?.message ? e.body.message : (e.message ?? '').split('\n')[0];
    return `HTTP ${status}: ${message}`;
  }
  if (e?.cause?.code) return `${e.cause.code}: ${e.cause.message ?? e.message}`;
  return String(e?.message ?? err);
}
