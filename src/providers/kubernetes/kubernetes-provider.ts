// The Kubernetes provider: keeps one store source per kind (`kubernetes/HTTPRoute`, …) equal to
// what the API server holds, through supervised client-node informers. It reports state, not
// events; coalescing and skipping unchanged snapshots stay in the controller.
import type { KubeConfig } from '@kubernetes/client-node';
import type { KubeObject } from '../../api/index.ts';
import type { Logger } from '../../observability/index.ts';
import type { Store } from '../../resources/index.ts';
import type { BackoffOptions } from './backoff.ts';
import { KUBERNETES_KINDS, collectionPath, sourceName, type KubernetesKind } from './kinds.ts';
import { NamedInformers, type NamedHealth } from './named-informers.ts';
import { referencedSecrets } from './referenced-secrets.ts';
import { StatusEcho } from './status-echo.ts';
import { SupervisedInformer, type InformerHealth } from './supervised-informer.ts';

export interface KubernetesProviderOptions {
  readonly store: Store;
  readonly logger: Logger;
  readonly kubeConfig: KubeConfig;
  /** Watch namespaced kinds in this namespace only (GatewayClass and Namespace stay cluster-wide). */
  readonly namespace?: string;
  /** A label selector for Gateways and routes (see README: what it applies to). */
  readonly labelSelector?: string;
  /** Restart delays after errors. */
  readonly backoff?: BackoffOptions;
  /** How often a kind the API server does not serve (a CRD not installed) is looked for again (default 60 s). */
  readonly recheckMs?: number;
  /** start() rejects with K8S_ERR_SYNC_TIMEOUT if the kinds have not synced by then (default: it waits). */
  readonly syncTimeoutMs?: number;
  /** How long a changed Gateway waits for the Secrets it starts referencing before it is published (default 5 s). */
  readonly secretWaitMs?: number;
  /** The kinds watched (default KUBERNETES_KINDS). */
  readonly kinds?: readonly KubernetesKind[];
}

export type KindHealth = InformerHealth & { readonly watched?: number };

export interface KubernetesHealth {
  /** Every kind has synced (or is not served): the store holds a whole view of the cluster. */
  readonly ready: boolean;
  readonly kinds: Readonly<Record<string, KindHealth>>;
}

/** One problem for the admin API, in the spirit of the file provider's ManifestError. */
export interface KubernetesProblem {
  readonly kind: string;
  readonly state: 'retrying' | 'disabled';
  readonly message: string;
}

export class KubernetesProvider {
  readonly #opts: KubernetesProviderOptions;
  readonly #kinds: readonly KubernetesKind[];
  readonly #informers = new Map<string, SupervisedInformer>();
  /** Kinds whose status Waygate never reads: what was published last, and the filter that keeps status-only changes out. */
  readonly #echoes = new Map<string, StatusEcho>();
  readonly #published = new Map<string, readonly KubeObject[]>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #dirty = new Set<KubernetesKind>();
  /** Kinds read object by object: the referenced Secrets, and kinds read by name (`names`). */
  readonly #named = new Map<KubernetesKind, NamedInformers>();
  #secrets: NamedInformers | undefined;
  #flush: NodeJS.Immediate | undefined;
  /** The Gateways had synced and the Secrets they reference are being watched. */
  #secretsReconciled = false;
  #started = false;
  #stopped = false;

  constructor(options: KubernetesProviderOptions) {
    this.#opts = options;
    this.#kinds = options.kinds ?? KUBERNETES_KINDS;
  }

  /**
   * Start every informer; resolves once all have synced (kinds not served count as settled), so
   * the first build sees the whole cluster. With syncTimeoutMs it may reject instead; the
   * informers keep trying until stop().
   */
  async start(): Promise<void> {
    if (this.#informers.size > 0 || this.#named.size > 0) throw new Error('KubernetesProvider.start() called twice');
    for (const kind of this.#kinds) {
      if (kind.referencedOnly && kind.kind === 'Secret') this.#secrets = this.#startNamed(kind);
      else if (kind.names) this.#startNamed(kind).reconcile(kind.names.map((name) => ({ name })));
      else this.#startKind(kind);
    }
    const synced = (async () => {
      await Promise.all([...this.#informers.values(), ...this.#named.values()].map((i) => i.settled()));
      this.#secretsReconciled = true;
      this.#reconcileSecrets();
      await this.#secrets?.settled();
    })();
    await this.#withTimeout(synced);
    if (this.#stopped) return;
    this.#started = true;
    for (const kind of this.#kinds) this.#dirty.add(kind);
    this.#publish();
    this.#opts.logger.info({ kinds: this.#kinds.map((k) => k.kind), namespace: this.#opts.namespace, labelSelector: this.#opts.labelSelector }, 'kubernetes provider synced');
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearImmediate(this.#flush);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all([...this.#informers.values(), ...this.#named.values()].map((i) => i.stop()));
  }

  health(): KubernetesHealth {
    const kinds: Record<string, KindHealth> = {};
    for (const [name, informer] of this.#informers) kinds[name] = informer.health();
    for (const [kind, named] of this.#named) kinds[kind.kind] = named.health();
    // Secrets come and go with the Gateways that reference them: a Gateway waits for its own.
    const ready = this.#started && [...this.#informers.values()].every((i) => i.health().synced || i.health().state === 'disabled')
      && [...this.#named.values()].every((n) => n === this.#secrets || n.whole());
    return { ready, kinds };
  }

  /** Kinds that are failing or not served, for the admin API and logs. */
  errors(): KubernetesProblem[] {
    return Object.entries(this.health().kinds).flatMap(([kind, h]) =>
      (h.state === 'retrying' || h.state === 'disabled') ? [{ kind, state: h.state, message: h.lastError ?? '' }] : []);
  }

  #startKind(kind: KubernetesKind): void {
    const informer = new SupervisedInformer({
      kubeConfig: this.#opts.kubeConfig,
      kind,
      namespace: kind.namespaced ? this.#opts.namespace : undefined,
      labelSelector: kind.selectable ? this.#opts.labelSelector : undefined,
      backoff: this.#opts.backoff,
      recheckMs: this.#opts.recheckMs ?? 60_000,
      onChange: () => this.#changed(kind),
      onState: (previous, next) => this.#logState(kind, previous, next),
    });
    this.#informers.set(kind.kind, informer);
    informer.start();
  }

  /** A kind read object by object, each by name (a Secret's namespace is its reference's). */
  #startNamed(kind: KubernetesKind): NamedInformers {
    const named = new NamedInformers({
      makeInformer: (ref, callbacks) => new SupervisedInformer({
        kubeConfig: this.#opts.kubeConfig,
        kind,
        namespace: ref.namespace,
        fieldSelector: `metadata.name=${ref.name}`,
        backoff: this.#opts.backoff,
        recheckMs: this.#opts.recheckMs ?? 60_000,
        onChange: callbacks.onChange,
        onState: callbacks.onState,
      }),
      onChange: () => this.#markDirty(kind),
      onState: (previous, next) => this.#logState(kind, previous, next),
    });
    this.#named.set(kind, named);
    return named;
  }

  /** Watch the Secrets the Gateways reference now. */
  #reconcileSecrets(): void {
    const gateways = this.#informers.get('Gateway');
    if (this.#secrets && gateways) this.#secrets.reconcile(referencedSecrets(gateways.objects(), this.#opts.namespace));
  }

  #changed(kind: KubernetesKind): void {
    if (kind.kind !== 'Gateway' || !this.#secrets || !this.#secretsReconciled) return this.#markDirty(kind);
    this.#reconcileSecrets();
    if (!this.#started) return this.#markDirty(kind);
    // A Gateway that starts referencing a Secret is published once the Secret is read (or after
    // secretWaitMs), so a listener is never built without the certificate it names.
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.#opts.secretWaitMs ?? 5000);
      this.#timers.add(timer);
    });
    void Promise.race([this.#secrets.settled(), waited]).then(() => {
      clearTimeout(timer);
      this.#timers.delete(timer!);
      this.#markDirty(kind);
    });
  }

  #markDirty(kind: KubernetesKind): void {
    this.#dirty.add(kind);
    if (!this.#started || this.#stopped || this.#flush) return;
    // One store update per kind per turn of the event loop, however many events arrived.
    this.#flush = setImmediate(() => {
      this.#flush = undefined;
      this.#publish();
    });
  }

  #publish(): void {
    if (this.#stopped) return;
    const kinds = [...this.#dirty];
    this.#dirty.clear();
    for (const kind of kinds) {
      const objects = this.#objectsOf(kind);
      if (!kind.statusUnread) {
        this.#opts.store.replace(sourceName(kind), objects);
        continue;
      }
      let echo = this.#echoes.get(kind.kind);
      if (echo === undefined) {
        echo = new StatusEcho();
        this.#echoes.set(kind.kind, echo);
      }
      const before = this.#published.get(kind.kind);
      const published = echo.filter(objects);
      if (published === before) continue;
      this.#published.set(kind.kind, published);
      this.#opts.store.replace(sourceName(kind), published);
    }
  }

  #objectsOf(kind: KubernetesKind): KubeObject[] {
    const named = this.#named.get(kind);
    if (named) return named.objects();
    return this.#informers.get(kind.kind)?.objects() ?? [];
  }

  /** One line when a kind starts failing, one when it recovers; nothing in between. */
  #logState(kind: KubernetesKind, previous: InformerHealth | NamedHealth, next: InformerHealth | NamedHealth): void {
    const log = this.#opts.logger;
    const fields = { kind: kind.kind, apiVersion: kind.apiVersion };
    if (next.state === 'retrying' && previous.state !== 'retrying') {
      log.warn({ ...fields, err: next.lastError }, `K8S_ERR_WATCH ${kind.kind}: ${next.lastError}; retrying with backoff, serving the last state seen`);
    } else if (next.state === 'disabled') {
      const again = `Checking again every ${Math.round((this.#opts.recheckMs ?? 60_000) / 1000)} s`;
      if (next.lastError?.includes('(403)')) {
        log.warn(fields, `K8S_ERR_FORBIDDEN ${kind.kind} disabled: ${next.lastError}; grant list and watch (deploy/waygate.yaml has the rule). ${again}`);
      } else {
        const what = kind.install ? `install ${kind.install}` : 'check the API server version';
        log.warn(fields, `K8S_ERR_NOT_SERVED ${kind.kind} disabled: the API server does not serve ${collectionPath(kind, undefined)}; ${what}. ${again}`);
      }
    } else if (next.state === 'synced' && previous.state === 'retrying') {
      log.info({ ...fields, failures: previous.failures, since: previous.since }, `${kind.kind}: watching again`);
    } else if (next.state === 'synced' && previous.state === 'disabled') {
      log.info(fields, `${kind.kind} enabled: the API server serves it now`);
    } else if (next.state === 'synced') {
      log.debug(fields, `${kind.kind} synced`);
    }
  }

  async #withTimeout(work: Promise<void>): Promise<void> {
    const ms = this.#opts.syncTimeoutMs;
    if (ms === undefined) return work;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`K8S_ERR_SYNC_TIMEOUT not synced after ${ms} ms: ${this.#unsynced()}`)), ms);
    });
    try {
      await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #unsynced(): string {
    return Object.entries(this.health().kinds).filter(([, h]) => !h.synced && h.state !== 'disabled')
      .map(([kind, h]) => `${kind} (${h.lastError ?? h.state})`).join(', ');
  }
}
