// Defensive field access: objects from files or a misbehaving API server may carry any
// shape, and a malformed field must become a condition, never an exception.

/** The value when it is an array, otherwise an empty list. */
export function list<T>(value: readonly T[] | undefined | null): readonly T[] {
  return Array.isArray(value) ? value : [];
}
