// The status Waygate writes comes back to it: every status write is a watch event with a new
// object. For kinds whose status Waygate never reads (it computes it), such an object differs
// from the one held only in what the write changed, and publishing it would cost a rebuild per
// status write, competing with the next change's. Here it keeps the object held when the new
// one differs only in status, resourceVersion and managedFields, so the store does not change.
import type { KubeObject } from '../../api/index.ts';
import { stableStringify } from '../../util/index.ts';

export class StatusEcho {
  /** By object read: the object published for it. */
  #kept = new WeakMap<KubeObject, KubeObject>();
  /** By namespace/name: the object published last. */
  #byKey = new Map<string, KubeObject>();
  #last: readonly KubeObject[] = [];

  /** The objects to publish; the very array of the last call when nothing but statuses changed. */
  filter(objects: readonly KubeObject[]): readonly KubeObject[] {
    let same = objects.length === this.#last.length;
    const out = objects.map((obj, i) => {
      const kept = this.#kept.get(obj) ?? this.#keep(obj);
      if (same && kept !== this.#last[i]) same = false;
      return kept;
    });
    if (same) return this.#last;
    // Forget objects that are gone once they are many, so that the map follows the cluster.
    if (this.#byKey.size > 2 * out.length + 64) this.#byKey = new Map(out.map((o) => [keyOf(o), o]));
    this.#last = out;
    return out;
  }

  #keep(obj: KubeObject): KubeObject {
    const key = keyOf(obj);
    const held = this.#byKey.get(key);
    const kept = held !== undefined && withoutStatus(held) === withoutStatus(obj) ? held : obj;
    this.#kept.set(obj, kept);
    this.#byKey.set(key, kept);
    return kept;
  }
}

function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

/** Everything Waygate reads of an object of such a kind. */
function withoutStatus(obj: KubeObject): string {
  const { status: _status, metadata, ...rest } = obj as KubeObject & { status?: unknown };
  const { resourceVersion: _rv, managedFields: _mf, ...meta } = metadata as KubeObject['metadata'] & { resourceVersion?: unknown; managedFields?: unknown };
  return stableStringify({ ...rest, metadata: meta });
}
