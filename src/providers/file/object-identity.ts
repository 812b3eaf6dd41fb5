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
  readonly #now: () => Date;

  constructor(now: () => Date = () => new Date()) {
    this.#now = now;
  }

  /** Stamp generation and creationTimestamp; forget objects not in `objects`. */
  stamp(objects: readonly KubeObject[]): KubeObject[] {
    const next = new Map<string, Seen>();
    const out = objects.map((obj) => {
      const key = `${obj.apiVersion}|${obj.kind}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`;
      const { metadata: _m, status: _s, ...spec } = obj as KubeObject & { status?: unknown };
      const specHash = contentHash(spec);
      const prev = this.#seen.get(key) ?? next.get(key);
      const generation = obj.metadata.generation ?? (!prev ? 1 : prev.specHash === specHash ? prev.generation : prev.generation + 1);
      const created = obj.metadata.creationTimestamp ?? prev?.created ?? this.#now().toISOString();
      next.set(key, { specHash, generation, created });
      return { ...obj, metadata: { ...obj.metadata, generation, creationTimestamp: created } };
    });
    this.#seen = next;
    return out;
  }
}
