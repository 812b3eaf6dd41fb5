// Objects read from files carry no server-managed metadata. Give them what the API server
// would: a generation bumped only when the spec (anything but metadata and status) changes,
// and a creationTimestamp fixed when the object is first seen (unless the file sets one).
import type { KubeObject } from '../../api/index.ts';
import { contentHash } from '../../util/index.ts';

interface Seen {
  readonly specHash: string;
  readonly generation: number;
  readonly created: string;
  /** The last stamp() that saw an object with this key. */
  seenIn: number;
}

export class ObjectIdentity {
  /** By key: what the last stamp() saw (each entry's seenIn is that pass). */
  readonly #seen = new Map<string, Seen>();
  /**
   * By object read: its key, spec hash, the Seen entry it was stamped with and its stamped copy.
   * Objects read are never mutated, so an unchanged object is not hashed again and keeps its
   * stamped copy (and its identity, which lets later stages remember their work per object).
   */
  #stamped = new WeakMap<KubeObject, { readonly key: string; readonly specHash: string; readonly seen: Seen; readonly out: KubeObject }>();
  readonly #now: () => Date;
  #pass = 0;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  /**
   * Stamp generation and creationTimestamp; forget objects not in `objects`. An object stamped
   * by the last call with nothing changed for its key costs one lookup: the provider stamps
   * every object after each edit, and most are the same objects as the time before.
   */
  stamp(objects: readonly KubeObject[]): KubeObject[] {
    const pass = ++this.#pass;
    const out = objects.map((obj) => {
      const known = this.#stamped.get(obj);
      // An entry replaced or forgotten never has the last pass's number (see #stampOne and below).
      if (known !== undefined && known.seen.seenIn === pass - 1) {
        known.seen.seenIn = pass;
        return known.out;
      }
      return this.#stampOne(obj, pass);
    });
    // Keys no object of this pass has are forgotten: such an object coming back is new again.
    let current = 0;
    for (const seen of this.#seen.values()) if (seen.seenIn === pass) current++;
    if (current !== this.#seen.size) for (const [key, seen] of this.#seen) if (seen.seenIn !== pass) this.#seen.delete(key);
    return out;
  }

  #stampOne(obj: KubeObject, pass: number): KubeObject {
    const known = this.#stamped.get(obj);
    const key = known?.key ?? `${obj.apiVersion}|${obj.kind}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`;
    const specHash = known?.specHash ?? specHashOf(obj);
    const prev = this.#seen.get(key);
    const generation = obj.metadata.generation ?? (!prev ? 1 : prev.specHash === specHash ? prev.generation : prev.generation + 1);
    const created = obj.metadata.creationTimestamp ?? prev?.created ?? this.#now().toISOString();
    const same = prev !== undefined && prev.specHash === specHash && prev.generation === generation && prev.created === created;
    const seen = same ? prev : { specHash, generation, created, seenIn: pass };
    if (prev !== undefined && prev !== seen) prev.seenIn = -1;
    seen.seenIn = pass;
    this.#seen.set(key, seen);
    if (known && known.out.metadata.generation === generation && known.out.metadata.creationTimestamp === created) {
      this.#stamped.set(obj, { ...known, seen });
      return known.out;
    }
    const stamped = { ...obj, metadata: { ...obj.metadata, generation, creationTimestamp: created } };
    this.#stamped.set(obj, { key, specHash, seen, out: stamped });
    return stamped;
  }
}

/** The hash of everything but metadata and status. */
function specHashOf(obj: KubeObject): string {
  const { metadata: _m, status: _s, ...spec } = obj as KubeObject & { status?: unknown };
  return contentHash(spec);
}
