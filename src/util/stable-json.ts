// Deterministic JSON: object keys sorted, so equal data always gives equal text and hash.
import { createHash } from 'node:crypto';

export function stableStringify(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** A short content hash of any JSON-able value. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 16);
}

const remembered = new WeakMap<object, string>();

/**
 * contentHash of an object that is never mutated, remembered by identity: hashing the same
 * object again is a lookup. Only for immutable data (objects in the store, parts of an IR);
 * a changed object must be a new object.
 */
export function immutableHash(value: object): string {
  let hash = remembered.get(value);
  if (hash === undefined) {
    hash = contentHash(value);
    remembered.set(value, hash);
  }
  return hash;
}

/** A short hash of a sequence of strings (e.g. other hashes), in order. */
export function hashOfParts(parts: Iterable<string>): string {
  // One update: each call into the hash costs more than joining short strings.
  return createHash('sha256').update([...parts].join('\n')).digest('hex').slice(0, 16);
}
