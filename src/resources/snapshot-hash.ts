// The content hash of a snapshot, from the remembered hash of each object: objects in the store
// are never mutated (a change is a new object), so after a change only new objects are hashed.
import type { KubeObject, Snapshot } from '../api/index.ts';
import { hashOfParts, immutableHash } from '../util/index.ts';

/** Equal snapshots (field by field, object by object, in order) give equal hashes. */
export function snapshotHash(snapshot: Snapshot): string {
  return hashOfParts(snapshotParts(snapshot));
}

function* snapshotParts(snapshot: Snapshot): Generator<string> {
  const fields = snapshot as unknown as Record<string, readonly KubeObject[]>;
  for (const field of Object.keys(fields).sort()) {
    yield field;
    for (const obj of fields[field]) yield immutableHash(obj);
  }
}
