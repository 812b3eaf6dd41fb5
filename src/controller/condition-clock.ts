// Stamps lastTransitionTime on computed conditions. A condition keeps its time until its
// status changes, so an unchanged status always renders the same.
import type { ObjectStatus } from '../translator/index.ts';

type Json = unknown;

export class ConditionClock {
  #seen = new Map<string, { status: string; time: string }>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  stamp(statuses: readonly ObjectStatus[]): ObjectStatus[] {
    const next = new Map<string, { status: string; time: string }>();
    const now = this.#now().toISOString().replace(/\.\d+Z$/, 'Z');
    const out = statuses.map((s) => {
      const base = `${s.kind}/${s.metadata.namespace ?? ''}/${s.metadata.name}`;
      return { ...s, status: this.#walk(s.status, base, next, now) };
    });
    this.#seen = next;
    return out;
  }

  #walk(value: Json, path: string, next: Map<string, { status: string; time: string }>, now: string): Json {
    if (Array.isArray(value)) return value.map((v, i) => this.#walk(v, `${path}[${elementKey(v, i)}]`, next, now));
    if (!value || typeof value !== 'object') return value;
    const obj = value as Record<string, Json>;
    if (typeof obj.type === 'string' && typeof obj.status === 'string' && typeof obj.reason === 'string') {
      const key = `${path}`;
      const prev = this.#seen.get(key);
      const time = prev && prev.status === obj.status ? prev.time : now;
      next.set(key, { status: obj.status, time });
      return { ...obj, lastTransitionTime: time };
    }
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(obj)) out[k] = this.#walk(v, `${path}.${k}`, next, now);
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
