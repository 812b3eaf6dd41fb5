// The in-memory store. Providers report state, not events: each source replaces its whole set
// of objects, and the store answers with a snapshot of the union. When two sources hold the
// same object (kind, namespace, name), the first source to report it keeps it.
import type { KubeObject } from '../api/index.ts';
import { KIND_FIELDS, compareObjects, type Snapshot } from './snapshot.ts';
import { SortedSource, factsOf } from './sorted-source.ts';

export type StoreListener = () => void;

export class Store {
  #sources = new Map<string, readonly KubeObject[]>();
  /** Each source's objects as a snapshot, brought up to date when first needed after a change. */
  #sorted = new Map<string, SortedSource>();
  #stale = new Set<string>();
  /** The union, until the next change. */
  #snapshot: Snapshot | undefined;
  #listeners: StoreListener[] = [];
  #version = 0;

  /**
   * Replace everything `source` contributes. Listeners hear of it. The objects must not be
   * mutated afterwards: a changed object is a new object (snapshots and hashes rely on it).
   */
  replace(source: string, objects: readonly KubeObject[]): void {
    this.#sources.set(source, objects);
    this.#changed(source);
  }

  remove(source: string): void {
    if (this.#sources.delete(source)) this.#changed(source);
  }

  #changed(source: string): void {
    if (this.#sources.has(source)) this.#stale.add(source);
    else {
      this.#sorted.delete(source);
      this.#stale.delete(source);
    }
    this.#snapshot = undefined;
    this.#version++;
    for (const l of this.#listeners) l();
  }

  /** Incremented on every change; lets callers skip rebuilding an unchanged snapshot. */
  get version(): number {
    return this.#version;
  }

  onChange(listener: StoreListener): () => void {
    this.#listeners.push(listener);
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
    };
  }

  /** The union of every source; only the sources that changed since the last call are sorted again. */
  snapshot(): Snapshot {
    this.#snapshot ??= this.#union();
    return this.#snapshot;
  }

  #union(): Snapshot {
    const parts = [...this.#sources.keys()].map((source) => this.#sortedSource(source));
    if (parts.length === 1) return parts[0];
    const fields: Record<string, readonly KubeObject[]> = {};
    for (const field of Object.values(KIND_FIELDS)) {
      const lists = parts.map((p) => (p as unknown as Record<string, readonly KubeObject[]>)[field]).filter((l) => l.length > 0);
      fields[field] = lists.length === 0 ? [] : lists.length === 1 ? lists[0] : mergeSources(lists);
    }
    return Object.freeze(fields) as unknown as Snapshot;
  }

  #sortedSource(source: string): Snapshot {
    let sorted = this.#sorted.get(source);
    if (sorted === undefined) {
      sorted = new SortedSource();
      this.#sorted.set(source, sorted);
    }
    if (this.#stale.delete(source) || !sorted.current) return sorted.update(this.#sources.get(source)!);
    return sorted.current;
  }
}

/** One kind's objects from several sources (in source order): the first source keeps an object. */
function mergeSources(lists: readonly (readonly KubeObject[])[]): readonly KubeObject[] {
  const seen = new Set<string>();
  const out: KubeObject[] = [];
  for (const list of lists) {
    for (const obj of list) {
      const { key } = factsOf(obj);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(obj);
    }
  }
  return out.sort(compareObjects);
}
