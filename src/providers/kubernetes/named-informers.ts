// Objects read one by one, by name: one supervised ListWatch each, with fieldSelector
// metadata.name=<name> (in the object's namespace), and one health for them all. Used for the
// Secrets Gateways reference (referenced-secrets.ts) and for kinds read only by name (kinds.ts
// `names`: the Gateway API CRDs), which RBAC can then grant by resourceNames.
import type { KubeObject } from '../../api/index.ts';
import type { InformerHealth, InformerState } from './supervised-informer.ts';
import { SupervisedInformer } from './supervised-informer.ts';

export interface ObjectRef {
  /** Absent for a cluster-scoped kind. */
  readonly namespace?: string;
  readonly name: string;
}

export interface NamedInformersOptions {
  /** Makes the informer for one object; it reports through the callbacks given here. */
  readonly makeInformer: (ref: ObjectRef, callbacks: { onChange: () => void; onState: () => void }) => SupervisedInformer;
  readonly onChange: () => void;
  /** The aggregate state of all the watches changed. */
  readonly onState: (previous: NamedHealth, next: NamedHealth) => void;
}

export interface NamedHealth extends InformerHealth {
  /** How many objects are watched. */
  readonly watched: number;
}

export class NamedInformers {
  readonly #opts: NamedInformersOptions;
  readonly #informers = new Map<string, SupervisedInformer>();
  #health: NamedHealth;

  constructor(options: NamedInformersOptions) {
    this.#opts = options;
    this.#health = this.#aggregate();
  }

  /** Watch exactly these objects: start the new ones, stop the others. */
  reconcile(refs: readonly ObjectRef[]): void {
    const wanted = new Set(refs.map((r) => `${r.namespace ?? ''}/${r.name}`));
    let removed = false;
    for (const [key, informer] of this.#informers) {
      if (wanted.has(key)) continue;
      this.#informers.delete(key);
      removed ||= informer.objects().length > 0;
      void informer.stop();
    }
    for (const ref of refs) {
      const key = `${ref.namespace ?? ''}/${ref.name}`;
      if (this.#informers.has(key)) continue;
      const informer = this.#opts.makeInformer(ref, { onChange: this.#opts.onChange, onState: () => this.#stateChanged() });
      this.#informers.set(key, informer);
      informer.start();
    }
    if (removed) this.#opts.onChange();
    this.#stateChanged();
  }

  /** Resolves once every object watched now has synced (or turned out not to be served). */
  async settled(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.settled()));
  }

  objects(): KubeObject[] {
    return [...this.#informers.values()].flatMap((i) => i.objects());
  }

  health(): NamedHealth {
    return this.#health;
  }

  /** Every watch has synced or is not served: the objects are a whole view. */
  whole(): boolean {
    return [...this.#informers.values()].every((i) => i.health().synced || i.health().state === 'disabled');
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

  /** Retrying if any watch is, pending if any has not synced yet, disabled if every one is (not served or not permitted), otherwise synced. */
  #aggregate(): NamedHealth {
    const all = [...this.#informers.values()].map((i) => i.health());
    const disabled = all.length > 0 && all.every((h) => h.state === 'disabled') ? all[0] : undefined;
    const failing = all.find((h) => h.state === 'retrying') ?? disabled;
    const state: InformerState = disabled ? 'disabled' : failing ? 'retrying' : all.some((h) => h.state === 'pending') ? 'pending' : 'synced';
    const since = state === this.#health?.state ? this.#health.since : new Date().toISOString();
    return {
      state, since, synced: all.every((h) => h.synced), watched: all.length,
      lastError: failing?.lastError, failures: Math.max(0, ...all.map((h) => h.failures)),
    };
  }
}
