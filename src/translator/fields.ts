// Defensive field access: objects from files or a misbehaving API server may carry any
// shape, and a malformed field must become a condition, never an exception.

/** The value when it is an array, otherwise an empty list. */
export function list<T>(value: readonly T[] | undefined | null): readonly T[] {
  return Array.isArray(value) ? value : [];
}

/** Arrays of the same items, in the same order, compared by identity. */
export function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
