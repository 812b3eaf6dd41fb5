// The controller loop: store change → holdoff → snapshot → (skip if unchanged) → translate →
// validate → publish a new IR version only when its content hash changed. Status is kept as
// data and stamped here; sinks (the admin API now, the Kubernetes status writer later) read it.
import type { KubeObject } from '../api/index.ts';
import type { IR } from '../ir/index.ts';
import { irHash, validateIR } from '../ir/index.ts';
import { snapshotHash, type Snapshot, type Store } from '../resources/index.ts';
import type { ObjectStatus, TranslateOptions, TranslateResult } from '../translator/index.ts';
import { TranslationCache, translate } from '../translator/index.ts';
import type { FleetEnvelope } from '../supervisor/index.ts';
import type { Logger } from '../observability/index.ts';
import { hashOfParts, immutableHash } from '../util/index.ts';
import { ConditionClock } from './condition-clock.ts';
import { Holdoff } from './holdoff.ts';
import { applyFleetView } from './programmed.ts';

/** Where configurations go: the worker fleet, in-process or over IPC. */
export interface ConfigPublisher {
  publish(version: string, ir: IR): void;
}

function statusKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

/**
 * The quiet period after a store change before a rebuild, and the longest wait after the first
 * change of a burst. A rebuild after a change to one object costs a few milliseconds (the
 * translation, hashes and compiled tables are reused for what did not change), so the quiet
 * period only has to merge the events of one edit; every millisecond of it is added to the time
 * a change takes to go live (bench/event-to-live.ts).
 */
const DEFAULT_HOLDOFF_MS = 10;
const DEFAULT_MAX_DELAY_MS = 300;

export interface ControllerOptions {
  readonly store: Store;
  readonly translate: TranslateOptions;
  readonly publisher: ConfigPublisher;
  readonly logger: Logger;
  readonly holdoffMs?: number;
  readonly maxDelayMs?: number;
}

export interface PublishedConfig {
  readonly version: string;
  readonly ir: IR;
}

/**
 * Where the time of one rebuild went, for benchmarks and debugging (`bench/event-to-live.ts`).
 * Instants are wall-clock milliseconds with a fraction (`performance.timeOrigin + now()`), so
 * they compare across processes; the rest are durations in milliseconds.
 */
export interface RebuildTimings {
  /** The first store change of the burst this rebuild answers (absent for a direct call). */
  readonly changedAt?: number;
  readonly startedAt: number;
  readonly snapshotMs: number;
  readonly hashMs: number;
  readonly translateMs: number;
  readonly validateMs: number;
  readonly irHashMs: number;
  readonly publishMs: number;
  /** When the publisher was done sending; absent when nothing was published. */
  readonly publishedAt?: number;
}

/** Stamped statuses are never mutated, and an unchanged one is the same object (ConditionClock). */
function statusesHash(statuses: readonly ObjectStatus[]): string {
  return hashOfParts(statuses.map((s) => immutableHash(s)));
}

function wallClock(monotonic: number = performance.now()): number {
  return performance.timeOrigin + monotonic;
}

export class Controller {
  readonly #opts: ControllerOptions;
  readonly #holdoff: Holdoff;
  readonly #clock = new ConditionClock();
  #unsubscribe: (() => void) | undefined;
  #snapshotHash = '';
  #irHash = '';
  #seq = 0;
  #published: PublishedConfig | undefined;
  #statuses: readonly ObjectStatus[] = [];
  #fleet: Omit<FleetEnvelope, 'type'> = { workers: [], allLive: false, bindErrors: [] };
  #builds = 0;
  #statusListeners: ((statuses: readonly ObjectStatus[]) => void)[] = [];
  #resultListeners: ((result: TranslateResult, snapshot: Snapshot) => void)[] = [];
  /** The last valid translation and its snapshot, for listeners that come later. */
  #lastResult: { readonly result: TranslateResult; readonly snapshot: Snapshot } | undefined;
  #statusHash = '';
  #timings: RebuildTimings | undefined;
  /** Lets each translation reuse what the last one built for objects that did not change. */
  readonly #translationCache = new TranslationCache();

  constructor(options: ControllerOptions) {
    this.#opts = options;
    this.#holdoff = new Holdoff((firstChangeAt) => this.#rebuild(wallClock(firstChangeAt)), options.holdoffMs ?? DEFAULT_HOLDOFF_MS, options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS);
  }

  start(): void {
    this.#unsubscribe = this.#opts.store.onChange(() => this.#holdoff.trigger());
    this.rebuild();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.#holdoff.cancel();
  }

  /** Rebuild from the whole store now (normally called by the holdoff timer). */
  rebuild(): void {
    this.#rebuild(undefined);
  }

  #rebuild(changedAt: number | undefined): void {
    const t0 = performance.now();
    const snapshot = this.#opts.store.snapshot();
    const t1 = performance.now();
    const hash = snapshotHash(snapshot);
    const t2 = performance.now();
    const times = { changedAt, startedAt: wallClock(t0), snapshotMs: t1 - t0, hashMs: t2 - t1, translateMs: 0, validateMs: 0, irHashMs: 0, publishMs: 0 };
    this.#timings = times;
    if (hash === this.#snapshotHash) return;
    const result = translate(snapshot, this.#opts.translate, this.#translationCache);
    const t3 = performance.now();
    const problems = validateIR(result.ir);
    const t4 = performance.now();
    this.#timings = { ...times, translateMs: t3 - t2, validateMs: t4 - t3 };
    if (problems.length > 0) {
      this.#opts.logger.error({ problems }, 'CFG_ERR_IR the computed configuration is inconsistent; keeping the last good one');
      return;
    }
    this.#snapshotHash = hash;
    this.#statuses = result.statuses;
    this.#builds++;
    this.#lastResult = { result, snapshot };
    for (const l of this.#resultListeners) l(result, snapshot);
    const hashOfIR = irHash(result.ir);
    const t5 = performance.now();
    this.#timings = { ...this.#timings, irHashMs: t5 - t4 };
    if (hashOfIR === this.#irHash) return this.#notifyStatuses();
    this.#irHash = hashOfIR;
    const version = `${++this.#seq}-${hashOfIR.slice(0, 8)}`;
    this.#published = { version, ir: result.ir };
    this.#opts.publisher.publish(version, result.ir);
    const t6 = performance.now();
    const timings = { ...this.#timings, publishMs: t6 - t5, publishedAt: wallClock(t6) };
    this.#timings = timings;
    this.#opts.logger.info({ version, binds: result.ir.binds.length, backends: result.ir.backends.length, timings }, 'configuration published');
    this.#notifyStatuses();
  }

  /** Where the time of the last rebuild went. */
  get lastRebuild(): RebuildTimings | undefined {
    return this.#timings;
  }

  /** The fleet reports which version runs where. */
  updateFleet(fleet: Omit<FleetEnvelope, 'type'>): void {
    this.#fleet = fleet;
    this.#notifyStatuses();
  }

  /**
   * Hears every valid translation with the snapshot it came from (e.g. the Gateway Service
   * reconciler reads the desired Services and the observed ones), starting with the last one
   * when there is one: a listener that comes after the first translation must not wait for a
   * change to hear of the current state.
   */
  onResult(listener: (result: TranslateResult, snapshot: Snapshot) => void): () => void {
    this.#resultListeners.push(listener);
    if (this.#lastResult !== undefined) listener(this.#lastResult.result, this.#lastResult.snapshot);
    return () => {
      this.#resultListeners = this.#resultListeners.filter((l) => l !== listener);
    };
  }

  /**
   * Status sinks (the Kubernetes status writer) hear of every change of the computed statuses,
   * and of nothing else: an unchanged status is never announced twice.
   */
  onStatuses(listener: (statuses: readonly ObjectStatus[]) => void): () => void {
    this.#statusListeners.push(listener);
    if (this.#published) {
      const statuses = this.statuses();
      this.#statusHash = statusesHash(statuses);
      listener(statuses);
    }
    return () => {
      this.#statusListeners = this.#statusListeners.filter((l) => l !== listener);
    };
  }

  #notifyStatuses(): void {
    if (this.#statusListeners.length === 0) return;
    const statuses = this.statuses();
    const hash = statusesHash(statuses);
    if (hash === this.#statusHash) return;
    this.#statusHash = hash;
    for (const l of this.#statusListeners) l(statuses);
  }

  /** Number of translations so far (unchanged snapshots are not translated). */
  get builds(): number {
    return this.#builds;
  }

  get published(): PublishedConfig | undefined {
    return this.#published;
  }

  /** Ready when a configuration was published and every worker runs it. */
  ready(): { ready: boolean; reason: string } {
    if (!this.#published) return { ready: false, reason: 'no configuration built yet' };
    if (this.#fleet.workers.length === 0) return { ready: false, reason: 'no workers' };
    if (!this.#fleet.allLive || this.#fleet.live !== this.#published.version) {
      return { ready: false, reason: `configuration ${this.#published.version} not yet live in every worker` };
    }
    return { ready: true, reason: `configuration ${this.#published.version} live in ${this.#fleet.workers.length} worker(s)` };
  }

  /**
   * Every object read, in snapshot order: with Waygate's status where it has a say (its
   * GatewayClasses, their Gateways, the routes attached to them), `status: null` otherwise.
   */
  objectStatuses(): ObjectStatus[] {
    const computed = new Map(this.statuses().map((s) => [statusKey(s.kind, s.metadata.namespace, s.metadata.name), s]));
    const snapshot = this.#opts.store.snapshot();
    const out: ObjectStatus[] = [];
    for (const list of Object.values(snapshot) as (readonly KubeObject[])[]) {
      for (const obj of list) {
        const { namespace, name, generation } = obj.metadata;
        out.push(computed.get(statusKey(obj.kind, namespace, name)) ?? { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { namespace, name, generation }, status: null });
      }
    }
    return out;
  }

  /** Statuses with Programmed held back until workers ack, and transition times stamped. */
  statuses(): ObjectStatus[] {
    const allLive = this.ready().ready;
    const view = applyFleetView(this.#statuses, this.#published?.ir, {
      allLive,
      newest: this.#published?.version,
      bindErrors: this.#fleet.bindErrors,
    });
    return this.#clock.stamp(view);
  }
}
