// What one translation can reuse from the previous ones, so that a change to one object costs
// about as much as translating that object. The translation stays a pure function of the
// snapshot: a remembered result is used only where computing it again would give the same
// result, which holds because objects in a snapshot are never mutated (a change is a new
// object) and every other input is looked up through the TranslationContext and checked.
import type { IRRoute, IRVirtualHost } from '../ir/index.ts';
import type { TranslationContext } from './context.ts';
import type { AttachedRoute } from './model.ts';

/** One lookup a computation made in the context, and what it found. */
interface Lookup {
  readonly field: string;
  readonly key: unknown;
  readonly value: unknown;
}

interface Remembered {
  /** The context's fields that are not maps (the options), by identity. */
  readonly fixed: readonly unknown[];
  readonly lookups: readonly Lookup[];
  readonly value: unknown;
}

/** A virtual host built from these attached routes (in attachment order). */
interface RememberedVirtualHost {
  readonly entries: readonly AttachedRoute[];
  readonly vhost: IRVirtualHost;
}

export class TranslationCache {
  readonly #perObject = new Map<string, WeakMap<object, Remembered>>();
  #virtualHosts = new Map<string, ReadonlyMap<string, RememberedVirtualHost>>();
  #nextVirtualHosts = new Map<string, ReadonlyMap<string, RememberedVirtualHost>>();

  /** Called once at the start of each translation: what the last one built is what can be reused. */
  startTranslation(): this {
    this.#virtualHosts = this.#nextVirtualHosts;
    this.#nextVirtualHosts = new Map();
    return this;
  }

  /**
   * `compute(ctx)` for the immutable object `key` in a `kind` of computation, or the remembered
   * result when it was computed for the same object before and every lookup it made in the
   * context finds the same now (the same object; arrays with the same objects). A computation
   * that iterates over a whole map of the context is not remembered.
   */
  remember<T>(kind: string, key: object, ctx: TranslationContext, compute: (ctx: TranslationContext) => T): T {
    let byObject = this.#perObject.get(kind);
    if (byObject === undefined) {
      byObject = new WeakMap();
      this.#perObject.set(kind, byObject);
    }
    const known = byObject.get(key);
    if (known !== undefined && sameFixed(known.fixed, ctx) && sameLookups(known.lookups, ctx)) return known.value as T;
    const lookups: Lookup[] = [];
    const recording = { wholeMapRead: false };
    const value = compute(recordingContext(ctx, lookups, recording));
    if (recording.wholeMapRead) byObject.delete(key);
    else byObject.set(key, { fixed: fixedFields(ctx), lookups, value });
    return value;
  }

  /**
   * The virtual host of `listener` for `hostname` from the last translation when it was built
   * from the same attached routes; otherwise `build()`. Either way it is remembered for the next.
   */
  virtualHost(listener: string, hostname: string, entries: readonly AttachedRoute[], build: () => IRRoute[]): IRVirtualHost {
    const known = this.#virtualHosts.get(listener)?.get(hostname);
    const vhost = known !== undefined && sameEntries(known.entries, entries) ? known.vhost : { hostname, routes: build() };
    let next = this.#nextVirtualHosts.get(listener) as Map<string, RememberedVirtualHost> | undefined;
    if (next === undefined) {
      next = new Map();
      this.#nextVirtualHosts.set(listener, next);
    }
    next.set(hostname, { entries, vhost });
    return vhost;
  }
}

function fixedFields(ctx: TranslationContext): unknown[] {
  return Object.values(ctx).filter((v) => !(v instanceof Map) && !(v instanceof TranslationCache));
}

function sameFixed(fixed: readonly unknown[], ctx: TranslationContext): boolean {
  const now = fixedFields(ctx);
  return now.length === fixed.length && now.every((v, i) => v === fixed[i]);
}

function sameLookups(lookups: readonly Lookup[], ctx: TranslationContext): boolean {
  const fields = ctx as unknown as Record<string, ReadonlyMap<unknown, unknown>>;
  return lookups.every((l) => sameValue(fields[l.field].get(l.key), l.value));
}

/** The same object, or arrays of the same objects (the context groups objects in new arrays). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameEntries(a: readonly AttachedRoute[], b: readonly AttachedRoute[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x.ir !== y.ir || x.hostname !== y.hostname || x.route !== y.route || x.ruleIndex !== y.ruleIndex || x.matchIndex !== y.matchIndex) return false;
  }
  return true;
}

/** The context with every map replaced by one that records each lookup. */
function recordingContext(ctx: TranslationContext, lookups: Lookup[], recording: { wholeMapRead: boolean }): TranslationContext {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(ctx)) {
    out[field] = value instanceof Map ? new RecordingMap(field, value, lookups, recording) : value;
  }
  return out as unknown as TranslationContext;
}

class RecordingMap<K, V> implements ReadonlyMap<K, V> {
  readonly #field: string;
  readonly #inner: ReadonlyMap<K, V>;
  readonly #lookups: Lookup[];
  readonly #recording: { wholeMapRead: boolean };

  constructor(field: string, inner: ReadonlyMap<K, V>, lookups: Lookup[], recording: { wholeMapRead: boolean }) {
    this.#field = field;
    this.#inner = inner;
    this.#lookups = lookups;
    this.#recording = recording;
  }

  get(key: K): V | undefined {
    const value = this.#inner.get(key);
    this.#lookups.push({ field: this.#field, key, value });
    return value;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined || this.#inner.has(key);
  }

  get size(): number {
    return this.#whole().size;
  }

  forEach(fn: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    this.#whole().forEach((v, k) => fn.call(thisArg, v, k, this));
  }

  entries(): MapIterator<[K, V]> {
    return this.#whole().entries();
  }

  keys(): MapIterator<K> {
    return this.#whole().keys();
  }

  values(): MapIterator<V> {
    return this.#whole().values();
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.#whole()[Symbol.iterator]();
  }

  #whole(): ReadonlyMap<K, V> {
    this.#recording.wholeMapRead = true;
    return this.#inner;
  }
}
