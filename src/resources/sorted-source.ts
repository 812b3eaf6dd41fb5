// One source's objects as a snapshot (each kind sorted by namespace and name, the first of each
// object kept), carried from one replacement to the next: when a provider replaces thousands of
// objects of which a few changed (a new object is a change: objects are never mutated), the
// last snapshot's arrays are patched instead of sorted again, and kinds without a change keep
// their arrays.
import type { KubeObject, Snapshot } from '../api/index.ts';
import { KIND_FIELDS, compareObjects, supportedKind } from './snapshot.ts';

/** What the store needs to know of an object, worked out once per object. */
interface Facts {
  /** Identity in the store: API group, kind, namespace, name. */
  readonly key: string;
  /** The snapshot field, or undefined for a kind Waygate ignores. */
  readonly field: string | undefined;
}

const factsByObject = new WeakMap<KubeObject, Facts>();

export function factsOf(obj: KubeObject): Facts {
  let facts = factsByObject.get(obj);
  if (facts === undefined) {
    const slash = obj.apiVersion.indexOf('/');
    const group = slash < 0 ? obj.apiVersion : obj.apiVersion.slice(0, slash);
    const kind = supportedKind(obj.apiVersion, obj.kind);
    facts = { key: `${group}|${obj.kind}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`, field: kind && KIND_FIELDS[kind] };
    factsByObject.set(obj, facts);
  }
  return facts;
}

const FIELDS: readonly string[] = Object.values(KIND_FIELDS);

export class SortedSource {
  /** Every object of the last replacement. */
  #present = new Set<KubeObject>();
  #snapshot: Snapshot | undefined;
  /** The last replacement held an object twice (by key): the next one is sorted from scratch. */
  #duplicates = false;

  /** The snapshot of the last update. */
  get current(): Snapshot | undefined {
    return this.#snapshot;
  }

  /** The snapshot of `objects`. */
  update(objects: readonly KubeObject[]): Snapshot {
    const present = new Set(objects);
    let patched: Snapshot | undefined;
    if (this.#snapshot !== undefined && !this.#duplicates && present.size === objects.length) {
      const added = objects.filter((o) => !this.#present.has(o));
      const removed = [...this.#present].filter((o) => !present.has(o));
      if (added.length + removed.length <= objects.length / 4) patched = patch(this.#snapshot, added, removed);
    }
    this.#snapshot = patched ?? this.#sort(objects);
    this.#present = present;
    return this.#snapshot;
  }

  #sort(objects: readonly KubeObject[]): Snapshot {
    const seen = new Set<string>();
    const fields: Record<string, KubeObject[]> = {};
    for (const field of FIELDS) fields[field] = [];
    this.#duplicates = false;
    for (const obj of objects) {
      const { key, field } = factsOf(obj);
      if (seen.has(key)) {
        this.#duplicates = true;
        continue;
      }
      seen.add(key);
      if (field !== undefined) fields[field].push(obj);
    }
    for (const list of Object.values(fields)) list.sort(compareObjects);
    return Object.freeze(fields) as unknown as Snapshot;
  }
}

/** The snapshot with `removed` taken out and `added` merged in, or undefined if that makes a duplicate. */
function patch(snapshot: Snapshot, added: readonly KubeObject[], removed: readonly KubeObject[]): Snapshot | undefined {
  const fields = { ...snapshot } as unknown as Record<string, readonly KubeObject[]>;
  const gone = byField(removed);
  const incoming = byField(added);
  for (const field of new Set([...gone.keys(), ...incoming.keys()])) {
    const out = gone.has(field) ? withoutObjects(fields[field], new Set(gone.get(field))) : fields[field];
    const merged = mergeSorted(out, (incoming.get(field) ?? []).sort(compareObjects));
    if (merged === undefined) return undefined;
    fields[field] = merged;
  }
  return Object.freeze(fields) as unknown as Snapshot;
}

function byField(objects: readonly KubeObject[]): Map<string, KubeObject[]> {
  const out = new Map<string, KubeObject[]>();
  for (const obj of objects) {
    const { field } = factsOf(obj);
    if (field === undefined) continue;
    const list = out.get(field);
    if (list) list.push(obj);
    else out.set(field, [obj]);
  }
  return out;
}

function withoutObjects(list: readonly KubeObject[], gone: ReadonlySet<KubeObject>): KubeObject[] {
  return list.filter((o) => !gone.has(o));
}

/** Two sorted lists as one; undefined when both hold the same namespace and name (a duplicate). */
function mergeSorted(a: readonly KubeObject[], b: readonly KubeObject[]): readonly KubeObject[] | undefined {
  if (b.length === 0) return a;
  const out: KubeObject[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j === b.length) out.push(a[i++]);
    else if (i === a.length) {
      if (j > 0 && compareObjects(b[j - 1], b[j]) === 0) return undefined;
      out.push(b[j++]);
    } else {
      const c = compareObjects(a[i], b[j]);
      if (c === 0 || (j > 0 && compareObjects(b[j - 1], b[j]) === 0)) return undefined;
      out.push(c < 0 ? a[i++] : b[j++]);
    }
  }
  return out;
}
