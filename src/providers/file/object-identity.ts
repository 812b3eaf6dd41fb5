// Objects read from files carry no server-managed metadata. Give them what the API server
// would: a generation bumped only when the spec (anything but metadata and status) changes,
// and a creationTimestamp fixed when the object is first seen (unless the file sets one).
import type { KubeObject } from '../../api/index.ts';
import { contentHash } from '../../util/index.ts';

interface Seen {
  readonly specHash: string;
  readonly generation: number;
  readonly created: string;
}

export class ObjectIdentity {
  #seen = new Map<string, Seen>();
  /**
   * By object read: its spec hash and its last stamped copy. Objects read are never mutated, so
   * an unchanged object is not hashed again and keeps its stamped copy (and its identity, which
   * lets later stages remember their work per object).
   */
  #stamped = new WeakMap<KubeObject, { readonly key: string; readonly specHash: string; readonly out: KubeObject }>();
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  /** Stamp generation and creationTimestamp; forget objects not in `objects`. */
  stamp(objects: readonly KubeObject[]): KubeObject[] {
    const next = new Map<string, Seen>();
    const out = objects.map((obj) => {
      const known = this.#stamped.get(obj);
      const key = known?.key ?? `${obj.apiVersion}|${obj.kind}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`;
      const specHash = known?.specHash ?? specHashOf(obj);
      const prev = this.#seen.get(key) ?? next.get(key);
      const generation = obj.metadata.generation ?? (!prev ? 1 : prev.specHash === specHash ? prev.generation : prev.generation + 1);
      const created = obj.metadata.creationTimestamp ?? prev?.created ?? this.#now().toISOString();
      const same = prev !== undefined && prev.specHash === specHash && prev.generation === generation && prev.created === created;
      next.set(key, same ? prev : { specHash, generation, created });
      if (known && known.out.metadata.generation === generation && known.out.metadata.creationTimestamp === created) return known.out;
      const stamped = { ...obj, metadata: { ...obj.metadata, generation, creationTimestamp: created } };
      this.#stamped.set(obj, { key, specHash, out: stamped });
      return stamped;
    });
    this.#seen = next;
    return out;
  }
}

/** The hash of everything but metadata and status. */
function specHashOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, ...spec } = obj as KubeObject & { status?: unknown };
  return contentHash(spec);
}
