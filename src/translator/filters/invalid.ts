// How a filter's conversion says what is wrong with it. A rule with an invalid filter is
// dropped (PartiallyInvalid); an unknown value of a field whose description says "Unknown
// values here must result in the implementation setting the Accepted Condition for the Route
// to `status: False`, with a Reason of `UnsupportedValue`" makes the whole route not accepted.

export interface Invalid {
  /** What is wrong, naming the field. */
  readonly invalid: string;
  /** An unknown enum value of such a field: the route is not accepted. */
  readonly unknownValue?: boolean;
}

export function invalid(message: string): Invalid {
  return { invalid: message };
}

export function unknownValue(message: string): Invalid {
  return { invalid: message, unknownValue: true };
}

export function isInvalid(value: unknown): value is Invalid {
  return typeof value === 'object' && value !== null && typeof (value as { invalid?: unknown }).invalid === 'string';
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An integer within [min, max] (int32 fields: max 2147483647). */
export function isIntegerIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

export const INT32_MAX = 2_147_483_647;

/** HTTPHeaderName (RFC 7230 token): the CRD's pattern, at most 256 characters. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

export function isHeaderName(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 256 && HEADER_NAME.test(v);
}

/** PreciseHostname: an RFC 1123 subdomain in lower case, no wildcard, at most 253 characters. */
const PRECISE_HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isPreciseHostname(v: unknown): v is string {
  return typeof v === 'string' && v.length <= 253 && PRECISE_HOSTNAME.test(v);
}

/** A list field: undefined when absent, the array when it is one with at most `max` items, else a problem. */
export function listField(v: unknown, max: number, field: string): readonly unknown[] | undefined | Invalid {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) return invalid(`${field}: must be a list`);
  if (v.length > max) return invalid(`${field}: at most ${max} entries are allowed, got ${v.length}`);
  return v;
}
