// HTTPRouteRule.timeouts (GEP-2257 durations) → IRTimeouts in milliseconds. A zero duration
// disables its timeout ("Setting a timeout to the zero duration (e.g. "0s") SHOULD disable the
// timeout completely") and stays 0 in the IR, which the data plane reads as no timeout.
import type { HTTPRouteRule } from '../api/index.ts';
import type { IRTimeouts } from '../ir/index.ts';
import { parseDuration } from '../util/index.ts';
import { isObject } from './filters/invalid.ts';

/** The rule's timeouts; a string says why the rule is invalid. */
export function convertTimeouts(rule: HTTPRouteRule, field: string): IRTimeouts | undefined | string {
  const t: unknown = rule.timeouts;
  if (t === undefined || t === null) return undefined;
  if (!isObject(t)) return `${field}.timeouts: must be an object`;
  const out: { requestMs?: number; backendRequestMs?: number } = {};
  for (const key of ['request', 'backendRequest'] as const) {
    if (t[key] === undefined) continue;
    const ms = typeof t[key] === 'string' ? parseDuration(t[key]) : undefined;
    if (ms === undefined) return `${field}.timeouts.${key}: ${JSON.stringify(t[key])} is not a valid duration`;
    out[key === 'request' ? 'requestMs' : 'backendRequestMs'] = ms;
  }
  // The CRD's rule: "backendRequest timeout cannot be longer than request timeout", unless the
  // request timeout is zero (none). A zero backendRequest (none) is bounded by the request timeout.
  if (out.requestMs && out.backendRequestMs !== undefined && out.backendRequestMs > out.requestMs) {
    return `${field}.timeouts.backendRequest must not exceed timeouts.request`;
  }
  return out;
}
