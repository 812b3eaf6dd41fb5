// The in-memory store. Providers report state, not events: each source replaces its whole set
// of objects, and the store answers with a snapshot of the union. When two sources hold the
// same object (kind, namespace, name), the first source to report it keeps it.
import type { KubeObject } from '../api/index.ts';
import { snapshotOf, type Snapshot } from './snapshot.ts';

export type StoreListener = () => void;

export class Store {
  #sources = new Map<string, readonly KubeObject[]>();
  #listeners: StoreListener[] = [];
  #version = 0;

  /** Replace everything `source` contributes. Listeners hear of it. */
  replace(source: string, objects: readonly KubeObject[]): void {
    this.#sources.set(source, objects);
    this.#version++;
    for (const l of this.#listeners) l();
  }

  remove(source: string): void {
    if (this.#sources.delete(source)) {
      this.#version++;
      for (const l of this.#listeners) l();
    }
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

  snapshot(): Snapshot {
    const seen = new Set<string>();
    const all: KubeObject[] = [];
    for (const objects of this.#sources.values()) {
      for (const obj of objects) {
        const key = `${obj.apiVersion.split('/')[0]}|${obj.kind}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`;
        if (seen.has(key)) continue;
        seen.add(key);
        all.push(obj);
      }
    }
    return snapshotOf(all);
  }
}
