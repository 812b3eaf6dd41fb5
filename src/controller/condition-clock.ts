// Stamps lastTransitionTime on computed conditions. A condition keeps its time until its
// status changes, so an unchanged status always renders the same.
import type { ObjectStatus } from '../translator/index.ts';

type Json = unknown;

type Stamp = { readonly status: string; readonly time: string };

/** One object's status as last stamped: the computed status, its stamped copy, and its conditions' stamps by path. */
interface Stamped {
  readonly source: ObjectStatus;
  readonly out: ObjectStatus;
  readonly stamps: ReadonlyMap<string, Stamp>;
}

export class ConditionClock {
  /**
   * By object (`kind/namespace/name`). Computed statuses are never mutated and the translator
   * hands back the same object for an unchanged status, so stamping thousands of statuses after
   * a change to one costs a lookup for each of the others.
   */
  #seen = new Map<string, Stamped>();
  readonly #bases = new WeakMap<ObjectStatus, string>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  stamp(statuses: readonly ObjectStatus[]): ObjectStatus[] {
    const next = new Map<string, Stamped>();
    let now: string | undefined;
    const out = statuses.map((s) => {
      const base = this.#baseOf(s);
      const prev = this.#seen.get(base);
      // The same computed status: stamping it again gives the same.
      if (prev !== undefined && prev.source === s) {
        next.set(base, prev);
        return prev.out;
      }
      now ??= this.#now().toISOString().replace(/\.\d+Z$/, 'Z');
      const stamps = new Map<string, Stamp>();
      const stamped = { ...s, status: this.#walk(s.status, base, prev?.stamps, stamps, now) };
      next.set(base, { source: s, out: stamped, stamps });
      return stamped;
    });
    this.#seen = next;
    return out;
  }

  #baseOf(s: ObjectStatus): string {
    let base = this.#bases.get(s);
    if (base === undefined) {
      base = `${s.kind}/${s.metadata.namespace ?? ''}/${s.metadata.name}`;
      this.#bases.set(s, base);
    }
    return base;
  }

  #walk(value: Json, path: string, prev: ReadonlyMap<string, Stamp> | undefined, stamps: Map<string, Stamp>, now: string): Json {
    if (Array.isArray(value)) return value.map((v, i) => this.#walk(v, `${path}[${elementKey(v, i)}]`, prev, stamps, now));
    if (!value || typeof value !== 'object') return value;
    const obj = value as Record<string, Json>;
    if (typeof obj.type === 'string' && typeof obj.status === 'string' && typeof obj.reason === 'string') {
      const key = `${path}`;
      const before = prev?.get(key);
      const stamp = before && before.status === obj.status ? before : { status: obj.status, time: now };
      stamps.set(key, stamp);
      return { ...obj, lastTransitionTime: stamp.time };
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = this.#walk(v, `${path}.${k}`, prev, stamps, now);
    return out;
  }
}

function elementKey(v: Json, i: number): string {
  if (v && typeof v === 'object') {
    const o = v as Record<string, Json>;
    if (typeof o.type === 'string' && typeof o.reason === 'string') return o.type;
    if (typeof o.name === 'string') return o.name;
    if (o.parentRef) return JSON.stringify(o.parentRef);
    // Policy status (GEP-713): one entry per ancestor, whatever the order.
    if (o.ancestorRef) return JSON.stringify(o.ancestorRef);
  }
  return String(i);
}
