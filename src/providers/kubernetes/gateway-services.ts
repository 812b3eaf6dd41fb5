// Keeps the Services generated for Gateways (TranslateResult.services) equal to what the
// translator wants; only the leader writes (docs/design/gateway-deployment.md).
//
// `update(desired, observed)` gets every translation's desired Services and the Services the
// informers see. When the observed ones already match, nothing is called. Otherwise a pass
// lists the Services of the namespace (the live state, not the cache), then creates
// the missing, updates in place what differs (never deletes and recreates: a load balancer
// keeps its address), and deletes generated Services no Gateway wants any more (with a UID
// precondition). Writes carry the live resourceVersion; a 409 is left to the next pass, which
// the informers trigger when they see the other change. Other failures are retried with backoff.
import { CoreV1Api, type ConfigurationOptions, type KubeConfig, type Middleware, type V1Service } from '@kubernetes/client-node';
import type { Service } from '../../api/index.ts';
import type { Logger } from '../../observability/index.ts';
import { describeError, httpStatusOf } from './api-request.ts';
import { isGeneratedService, mergeService, sameService, serviceToCreate } from './service-merge.ts';

export interface GatewayServiceReconcilerOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** Namespace of the proxy pods, where the generated Services live (TranslateOptions.deployment.namespace). */
  readonly namespace: string;
  /** Asked before every pass and every write: a replica that is not the leader never writes. */
  readonly isLeader: () => boolean;
  /** First delay before retrying a failed pass; doubles up to 30 s (default 1 s). */
  readonly retryDelayMs?: number;
  /** Deadline of each API call (default 10 s). */
  readonly requestTimeoutMs?: number;
}

export interface GatewayServiceStats {
  readonly creates: number;
  readonly updates: number;
  readonly deletes: number;
  /** Passes that listed the live Services. */
  readonly passes: number;
  /** Writes refused with 409 (left to the next pass). */
  readonly conflicts: number;
  /** Failed calls other than conflicts (the pass is retried later). */
  readonly errors: number;
}

type Action =
  | { readonly kind: 'create'; readonly service: Service }
  | { readonly kind: 'update'; readonly service: Service }
  | { readonly kind: 'delete'; readonly name: string; readonly uid: string | undefined };

const MAX_RETRY_DELAY_MS = 30_000;

/**
 * Call options that abort the request after `ms` or when `signal` aborts. The object-param
 * APIs of client-node 2.0 hand call-time middleware to their observable layer as is, whose
 * stub calls `.toPromise()` on what `pre`/`post` return; a promise that also has `toPromise`
 * works there and with real observables alike.
 */
function deadlineOptions(ms: number, signal: AbortSignal): ConfigurationOptions {
  const abort = AbortSignal.any([AbortSignal.timeout(Math.max(1, Math.ceil(ms))), signal]);
  const settled = <T>(value: T) => Object.assign(Promise.resolve(value), { toPromise: () => Promise.resolve(value) });
  const middleware = {
    pre: (context: { setSignal(signal: AbortSignal): void }) => {
      context.setSignal(abort);
      return settled(context);
    },
    post: <T>(response: T) => settled(response),
  };
  return { middleware: [middleware as unknown as Middleware], middlewareMergeStrategy: 'append' } as unknown as ConfigurationOptions;
}

/**
 * What makes `live` (Services of the namespace) match `desired`. Only generated Services are
 * updated or deleted; a desired name taken by someone else's Service is left alone (the
 * translator reports the Gateway AddressNotAssigned).
 */
export function planGatewayServices(desired: readonly Service[], live: readonly Service[], namespace: string): { actions: Action[]; foreign: string[] } {
  const ours = new Map<string, Service>();
  const others = new Set<string>();
  for (const svc of live) {
    if ((svc.metadata?.namespace ?? 'default') !== namespace) continue;
    if (isGeneratedService(svc)) ours.set(svc.metadata.name, svc);
    else others.add(svc.metadata.name);
  }
  const actions: Action[] = [];
  const foreign: string[] = [];
  const wanted = new Set<string>();
  for (const want of desired) {
    const name = want.metadata.name;
    wanted.add(name);
    const current = ours.get(name);
    if (current) {
      const merged = mergeService(current, want);
      if (!sameService(merged, current)) actions.push({ kind: 'update', service: merged });
    } else if (others.has(name)) {
      foreign.push(name);
    } else {
      actions.push({ kind: 'create', service: serviceToCreate(want) });
    }
  }
  for (const [name, svc] of ours) if (!wanted.has(name)) actions.push({ kind: 'delete', name, uid: svc.metadata.uid });
  return { actions, foreign };
}

export class GatewayServiceReconciler {
  readonly #opts: GatewayServiceReconcilerOptions;
  readonly #api: CoreV1Api;
  #desired: readonly Service[] | undefined;
  #wanted = false;
  #running: Promise<void> | undefined;
  #retry: { timer: NodeJS.Timeout; attempts: number } | undefined;
  #attempts = 0;
  #stopped = false;
  #abort = new AbortController();
  #settledWaiters: (() => void)[] = [];
  #foreignLogged = new Set<string>();
  #stats = { creates: 0, updates: 0, deletes: 0, passes: 0, conflicts: 0, errors: 0 };

  constructor(options: GatewayServiceReconcilerOptions) {
    this.#opts = options;
    this.#api = options.kubeConfig.makeApiClient(CoreV1Api);
  }

  /**
   * The desired Services of the latest translation and the Services the informers see. Call it
   * only once the informers have synced: an empty desired list deletes every generated Service.
   */
  update(desired: readonly Service[], observed: readonly Service[]): void {
    this.#desired = desired;
    if (planGatewayServices(desired, observed, this.#opts.namespace).actions.length === 0) return;
    this.#schedule();
  }

  /** Check the live Services against the latest desired ones: call it when this replica becomes leader. */
  resync(): void {
    if (this.#desired !== undefined) this.#schedule();
  }

  /** Stop; waits for a pass in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    if (this.#retry) clearTimeout(this.#retry.timer);
    this.#retry = undefined;
    await this.#running?.catch(() => undefined);
    this.#notifySettled();
  }

  /** Resolves when no pass is running, wanted or waiting for a retry. */
  settled(): Promise<void> {
    if (this.#isSettled()) return Promise.resolve();
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  stats(): GatewayServiceStats {
    return { ...this.#stats };
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#retry) {
      clearTimeout(this.#retry.timer);
      this.#retry = undefined;
    }
    this.#wanted = true;
    if (!this.#running) this.#run();
  }

  #run(): void {
    this.#wanted = false;
    this.#running = this.#pass().then(
      () => {
        this.#attempts = 0;
      },
      (err: unknown) => this.#retryLater(err),
    ).finally(() => {
      this.#running = undefined;
      if (this.#wanted && !this.#stopped) this.#run();
      else this.#notifySettled();
    });
  }

  async #pass(): Promise<void> {
    const desired = this.#desired;
    if (desired === undefined || !this.#opts.isLeader()) return;
    const namespace = this.#opts.namespace;
    this.#stats.passes++;
    // Every Service of the namespace (Waygate's own, so few): a desired name taken by someone
    // else's Service must be seen, not found by a failing create.
    const list = await this.#api.listNamespacedService({ namespace }, this.#callOptions());
    const live = (list.items ?? []) as unknown as Service[];
    const { actions, foreign } = planGatewayServices(desired, live, namespace);
    for (const name of foreign) this.#reportTaken(namespace, name);
    for (const action of actions) {
      if (this.#stopped || !this.#opts.isLeader()) return;
      await this.#apply(action, namespace);
    }
  }

  async #apply(action: Action, namespace: string): Promise<void> {
    const log = this.#opts.logger;
    try {
      if (action.kind === 'create') {
        await this.#api.createNamespacedService({ namespace, body: action.service as unknown as V1Service, fieldManager: 'waygate' }, this.#callOptions());
        this.#stats.creates++;
        log.info({ service: `${namespace}/${action.service.metadata.name}` }, 'created Gateway Service');
      } else if (action.kind === 'update') {
        const name = action.service.metadata.name;
        await this.#api.replaceNamespacedService({ namespace, name, body: action.service as unknown as V1Service, fieldManager: 'waygate' }, this.#callOptions());
        this.#stats.updates++;
        log.info({ service: `${namespace}/${name}` }, 'updated Gateway Service in place');
      } else {
        const body = action.uid ? { preconditions: { uid: action.uid } } : undefined;
        await this.#api.deleteNamespacedService({ namespace, name: action.name, ...(body ? { body } : {}) }, this.#callOptions());
        this.#stats.deletes++;
        log.info({ service: `${namespace}/${action.name}` }, 'deleted the Service of a Gateway that is gone');
      }
    } catch (err) {
      const status = httpStatusOf(err);
      if (action.kind === 'delete' && status === 404) return;
      if (status === 409) {
        this.#stats.conflicts++;
        if (action.kind === 'create') this.#reportTaken(namespace, action.service.metadata.name);
        return;
      }
      throw err;
    }
  }

  #reportTaken(namespace: string, name: string): void {
    if (this.#foreignLogged.has(name)) return;
    this.#foreignLogged.add(name);
    this.#opts.logger.warn({ service: `${namespace}/${name}` }, 'a Service of the name Waygate generates for a Gateway already exists and is not Waygate\'s; it is left alone');
  }

  #retryLater(err: unknown): void {
    this.#stats.errors++;
    if (this.#stopped) return;
    const attempts = ++this.#attempts;
    const delay = Math.min(MAX_RETRY_DELAY_MS, (this.#opts.retryDelayMs ?? 1000) * 2 ** (attempts - 1));
    this.#opts.logger.warn({ error: describeError(err), retryInMs: delay }, 'Gateway Services not reconciled; retrying');
    const timer = setTimeout(() => {
      this.#retry = undefined;
      this.#schedule();
    }, delay);
    timer.unref();
    this.#retry = { timer, attempts };
  }

  #callOptions(): ConfigurationOptions {
    return deadlineOptions(this.#opts.requestTimeoutMs ?? 10_000, this.#abort.signal);
  }

  #isSettled(): boolean {
    return !this.#running && !this.#wanted && !this.#retry;
  }

  #notifySettled(): void {
    if (!this.#isSettled() && !this.#stopped) return;
    const waiters = this.#settledWaiters;
    this.#settledWaiters = [];
    for (const w of waiters) w();
  }
}
