// What one translation can reuse from the previous ones, so that a change to one object costs
// about as much as translating that object. The translation stays a pure function of the
// snapshot: a remembered result is used only where computing it again would give the same
// result, which holds because objects in a snapshot are never mutated (a change is a new
// object) and every other input is looked up through the TranslationContext and checked.
import type { IRRoute, IRVirtualHost } from '../ir/index.ts';
import type { TranslationContext } from './context.ts';
import { sameItems } from './fields.ts';
import type { AttachedRules } from './model.ts';

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
  /** The maps the lookups went to. */
  readonly fields: readonly string[];
  readonly value: unknown;
  /** The last translation in which the lookups were known to find the same. */
  checkedIn: number;
}

/** A virtual host built from these attached routes (in attachment order). */
interface RememberedVirtualHost {
  readonly entries: readonly AttachedRules[];
  readonly vhost: IRVirtualHost;
}

export class TranslationCache {
  readonly #perObject = new Map<string, WeakMap<object, Remembered>>();
  #virtualHosts = new Map<string, ReadonlyMap<string, RememberedVirtualHost>>();
  #nextVirtualHosts = new Map<string, ReadonlyMap<string, RememberedVirtualHost>>();
  #translation = 0;
  /** Each map of the context as last seen, and the translation in which its content last changed. */
  readonly #maps = new Map<string, { map: ReadonlyMap<unknown, unknown>; changedIn: number }>();
  /** Per kind of context (its fields), the fixed fields and the translation it was last seen in. */
  readonly #contexts = new Map<string, { fixed: readonly unknown[]; seenIn: number }>();
  /** State a processor keeps from one translation to the next (see `slot`). */
  readonly #slots = new Map<string, unknown>();

  /** Called once at the start of each translation: what the last one built is what can be reused. */
  startTranslation(): this {
    this.#virtualHosts = this.#nextVirtualHosts;
    this.#nextVirtualHosts = new Map();
    this.#translation++;
    return this;
  }

  /**
   * `compute(ctx)` for the immutable object `key` in a `kind` of computation, or the remembered
   * result when it was computed for the same object before and every lookup it made in the
   * context finds the same now (the same object; arrays with the same objects). When no map it
   * looked in has changed since, that holds without checking each lookup. A computation that
   * iterates over a whole map of the context is not remembered. Computations may nest: the
   * outer one then depends on the inner one's lookups.
   */
  remember<T>(kind: string, key: object, ctx: TranslationContext, compute: (ctx: TranslationContext) => T): T {
    let byObject = this.#perObject.get(kind);
    if (byObject === undefined) {
      byObject = new WeakMap();
      this.#perObject.set(kind, byObject);
    }
    const known = byObject.get(key);
    // Nested in another computation, the lookups are made again so that the outer one records them.
    if (known !== undefined && sameFixed(known.fixed, ctx)) {
      const unchanged = this.#unchangedSince(known, ctx);
      if ((unchanged && !isRecording(ctx)) || sameLookups(known.lookups, ctx)) {
        known.checkedIn = this.#translation;
        return known.value as T;
      }
    }
    const lookups: Lookup[] = [];
    const recording = { wholeMapRead: false };
    const value = compute(recordingContext(ctx, lookups, recording));
    if (recording.wholeMapRead) {
      byObject.delete(key);
      return value;
    }
    const remembered: Remembered = { fixed: fixedFields(ctx), lookups, fields: [...new Set(lookups.map((l) => l.field))], value, checkedIn: this.#translation };
    // The maps it used are seen as they are now, so later changes to them are noticed.
    this.#unchangedSince(remembered, ctx);
    byObject.set(key, remembered);
    return value;
  }

  /**
   * Whether no map the remembered computation looked in has changed since it was last checked.
   * Every one of those maps is compared (none skipped), so that `checkedIn` may then be moved
   * to this translation.
   */
  #unchangedSince(known: Remembered, ctx: TranslationContext): boolean {
    const fields = ctx as unknown as Record<string, unknown>;
    let unchanged = true;
    for (const field of known.fields) {
      if (this.#changedIn(field, fields[field]) > known.checkedIn) unchanged = false;
    }
    return unchanged;
  }

  /** The translation in which a map of the context last changed, comparing it with the last one seen. */
  #changedIn(field: string, value: unknown): number {
    const map = unwrap(value);
    const seen = this.#maps.get(field);
    if (seen !== undefined && seen.map === map) return seen.changedIn;
    const changedIn = seen !== undefined && sameMaps(seen.map, map) ? seen.changedIn : this.#translation;
    this.#maps.set(field, { map, changedIn });
    return changedIn;
  }

  /**
   * Whether nothing `ctx` holds changed since the last translation that saw a context with the
   * same fields: the same fixed fields (options, by identity) and maps that find the same. A
   * computation made then from the same immutable object would give the same result now.
   */
  unchangedSinceLast(ctx: TranslationContext): boolean {
    const fields = Object.keys(ctx).filter((f) => f !== 'cache').sort();
    const kind = fields.join(',');
    const fixed = fixedFields(ctx);
    const seen = this.#contexts.get(kind);
    this.#contexts.set(kind, { fixed, seenIn: this.#translation });
    const values = ctx as unknown as Record<string, unknown>;
    let unchanged = seen !== undefined && seen.seenIn === this.#translation - 1 && sameItems(seen.fixed, fixed);
    // Every map is compared (none skipped), so that each is seen as it is now.
    for (const field of fields) {
      if (isMap(values[field]) && this.#changedIn(field, values[field]) === this.#translation) unchanged = false;
    }
    return unchanged;
  }

  /** The state a processor keeps across translations under `name`, created on first use. */
  slot<T>(name: string, create: () => T): T {
    let value = this.#slots.get(name) as T | undefined;
    if (value === undefined) {
      value = create();
      this.#slots.set(name, value);
    }
    return value;
  }

  /**
   * The virtual host of `listener` for `hostname` from the last translation when it was built
   * from the same attached routes; otherwise `build()`. Either way it is remembered for the next.
   */
  virtualHost(listener: string, hostname: string, entries: readonly AttachedRules[], build: () => IRRoute[]): IRVirtualHost {
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

function isMap(value: unknown): boolean {
  return value instanceof Map || value instanceof RecordingMap;
}

const recordingContexts = new WeakSet<TranslationContext>();

function isRecording(ctx: TranslationContext): boolean {
  return recordingContexts.has(ctx);
}

function unwrap(value: unknown): ReadonlyMap<unknown, unknown> {
  return value instanceof RecordingMap ? value.inner : (value as ReadonlyMap<unknown, unknown>);
}

/** Maps whose keys find the same values (see sameValue). */
function sameMaps(a: ReadonlyMap<unknown, unknown>, b: ReadonlyMap<unknown, unknown>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, value] of b) if (!sameValue(a.get(key), value) || !a.has(key)) return false;
  return true;
}

const fixedByContext = new WeakMap<TranslationContext, readonly unknown[]>();

function fixedFields(ctx: TranslationContext): readonly unknown[] {
  let fixed = fixedByContext.get(ctx);
  if (fixed === undefined) {
    fixed = Object.values(ctx).filter((v) => !isMap(v) && !(v instanceof TranslationCache));
    fixedByContext.set(ctx, fixed);
  }
  return fixed;
}

function sameFixed(fixed: readonly unknown[], ctx: TranslationContext): boolean {
  return sameItems(fixedFields(ctx), fixed);
}

function sameLookups(lookups: readonly Lookup[], ctx: TranslationContext): boolean {
  const fields = ctx as unknown as Record<string, ReadonlyMap<unknown, unknown>>;
  return lookups.every((l) => sameValue(fields[l.field].get(l.key), l.value));
}

/** The same object, or arrays of the same objects (the context groups objects in new arrays). */
function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (Array.isArray(a) && Array.isArray(b) && sameItems(a, b));
}

/** The same routes with the same rules (an immutable translation) for the same hostnames, in the same order. */
function sameEntries(a: readonly AttachedRules[], b: readonly AttachedRules[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x !== y && (x.rules !== y.rules || x.hostname !== y.hostname || x.route !== y.route)) return false;
  }
  return true;
}

/** The context with every map replaced by one that records each lookup. */
function recordingContext(ctx: TranslationContext, lookups: Lookup[], recording: { wholeMapRead: boolean }): TranslationContext {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(ctx)) {
    out[field] = isMap(value) ? new RecordingMap(field, value as ReadonlyMap<unknown, unknown>, lookups, recording) : value;
  }
  recordingContexts.add(out as unknown as TranslationContext);
  return out as unknown as TranslationContext;
}

class RecordingMap<K, V> implements ReadonlyMap<K, V> {
  readonly #field: string;
  readonly #inner: ReadonlyMap<K, V>;

  /** The map underneath (unwrapped when recordings nest). */
  get inner(): ReadonlyMap<K, V> {
    return unwrap(this.#inner) as ReadonlyMap<K, V>;
  }
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
