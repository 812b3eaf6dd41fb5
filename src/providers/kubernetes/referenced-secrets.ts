// Secrets are watched one by one, only those a Gateway listener references
// (spec.listeners[].tls.certificateRefs): Waygate never holds the other Secrets of the cluster
// in memory. Each is a ListWatch with fieldSelector metadata.name=<name> in its namespace.
import type { Gateway, KubeObject } from '../../api/index.ts';
import type { InformerHealth, InformerState } from './supervised-informer.ts';
import { SupervisedInformer } from './supervised-informer.ts';

export interface SecretRef {
  readonly namespace: string;
  readonly name: string;
}

/** Secrets referenced by certificateRefs (core group, kind Secret; namespace defaults to the Gateway's). */
export function referencedSecrets(gateways: readonly KubeObject[], onlyNamespace?: string): SecretRef[] {
  const refs = new Map<string, SecretRef>();
  for (const gw of gateways as readonly Gateway[]) {
    for (const listener of gw.spec?.listeners ?? []) {
      for (const ref of listener.tls?.certificateRefs ?? []) {
        if ((ref.group ?? '') !== '' || (ref.kind ?? 'Secret') !== 'Secret' || !ref.name) continue;
        const namespace = ref.namespace ?? gw.metadata.namespace ?? 'default';
        if (onlyNamespace !== undefined && namespace !== onlyNamespace) continue;
        refs.set(`${namespace}/${ref.name}`, { namespace, name: ref.name });
      }
    }
  }
  return [...refs.values()];
}

export interface ReferencedSecretsOptions {
  /** Makes the informer for one Secret; it reports through the callbacks given here. */
  readonly makeInformer: (ref: SecretRef, callbacks: { onChange: () => void; onState: () => void }) => SupervisedInformer;
  readonly onChange: () => void;
  /** The aggregate state of all Secret watches changed. */
  readonly onState: (previous: SecretsHealth, next: SecretsHealth) => void;
}

export interface SecretsHealth extends InformerHealth {
  /** How many Secrets are watched. */
  readonly watched: number;
}

export class ReferencedSecrets {
  readonly #opts: ReferencedSecretsOptions;
  readonly #informers = new Map<string, SupervisedInformer>();
  #health: SecretsHealth;

  constructor(options: ReferencedSecretsOptions) {
    this.#opts = options;
    this.#health = this.#aggregate();
  }

  /** Watch exactly these Secrets: start the new ones, stop the ones no longer referenced. */
  reconcile(refs: readonly SecretRef[]): void {
    const wanted = new Set(refs.map((r) => `${r.namespace}/${r.name}`));
    let removed = false;
    for (const [key, informer] of this.#informers) {
      if (wanted.has(key)) continue;
      this.#informers.delete(key);
      removed ||= informer.objects().length > 0;
      void informer.stop();
    }
    for (const ref of refs) {
      const key = `${ref.namespace}/${ref.name}`;
      if (this.#informers.has(key)) continue;
      const informer = this.#opts.makeInformer(ref, { onChange: this.#opts.onChange, onState: () => this.#stateChanged() });
      this.#informers.set(key, informer);
      informer.start();
    }
    if (removed) this.#opts.onChange();
    this.#stateChanged();
  }

  /** Resolves once every Secret watched now has synced. */
  async settled(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.settled()));
  }

  objects(): KubeObject[] {
    return [...this.#informers.values()].flatMap((i) => i.objects());
  }

  health(): SecretsHealth {
    return this.#health;
  }

  async stop(): Promise<void> {
    const all = [...this.#informers.values()];
    this.#informers.clear();
    await Promise.all(all.map((i) => i.stop()));
  }

  #stateChanged(): void {
    const next = this.#aggregate();
    const previous = this.#health;
    this.#health = next;
    if (next.state !== previous.state) this.#opts.onState(previous, next);
  }

  /** Retrying if any watch is, pending if any has not synced yet, otherwise synced. */
  #aggregate(): SecretsHealth {
    const all = [...this.#informers.values()].map((i) => i.health());
    const failing = all.find((h) => h.state === 'retrying');
    const state: InformerState = failing ? 'retrying' : all.some((h) => h.state === 'pending') ? 'pending' : 'synced';
    const since = state === this.#health?.state ? this.#health.since : new Date().toISOString();
    return {
      state, since, synced: all.every((h) => h.synced), watched: all.length,
      lastError: failing?.lastError, failures: Math.max(0, ...all.map((h) => h.failures)),
    };
  }
}
