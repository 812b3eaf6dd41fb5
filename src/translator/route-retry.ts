// HTTPRouteRule.retry (experimental channel, GEP-1731) → IRRouteRetry. The CRD leaves the
// defaults of codes, attempts and backoff to the implementation; Waygate's are below.
import type { HTTPRouteRule } from '../api/index.ts';
import type { IRRouteRetry } from '../ir/index.ts';
import { parseDuration } from '../util/index.ts';
import { INT32_MAX, isIntegerIn, isObject } from './filters/invalid.ts';

/**
 * Codes left out: the gateway errors (502, 503, 504), answers that say the backend did not
 * handle the request (or could not be reached), which are the ones worth another try without
 * knowing the application; a 500 is often the application's own answer and may have had effects.
 */
export const DEFAULT_RETRY_CODES: readonly number[] = [502, 503, 504];
/** Attempts left out: one retry, so a failing backend sees at most twice the traffic. */
export const DEFAULT_RETRY_ATTEMPTS = 1;
/** Backoff left out: 25 ms, enough to step past a momentary failure without adding much latency. */
export const DEFAULT_RETRY_BACKOFF_MS = 25;

/** The rule's retry; a string says why the rule is invalid. */
export function convertRetry(rule: HTTPRouteRule, field: string): IRRouteRetry | string | undefined {
  const spec: unknown = rule.retry;
  if (spec === undefined || spec === null) return undefined;
  const f = `${field}.retry`;
  if (!isObject(spec)) return `${f}: must be an object`;
  const codes = convertCodes(spec.codes, `${f}.codes`);
  if (typeof codes === 'string') return codes;
  const attempts = spec.attempts ?? DEFAULT_RETRY_ATTEMPTS;
  if (!isIntegerIn(attempts, 1, INT32_MAX)) return `${f}.attempts: ${JSON.stringify(attempts)} must be an integer, at least 1`;
  let backoffMs = DEFAULT_RETRY_BACKOFF_MS;
  if (spec.backoff !== undefined) {
    const ms = typeof spec.backoff === 'string' ? parseDuration(spec.backoff) : undefined;
    if (ms === undefined) return `${f}.backoff: ${JSON.stringify(spec.backoff)} is not a Gateway API duration (e.g. 100ms, 1s)`;
    backoffMs = ms;
  }
  return { codes, attempts, backoffMs };
}

/** HTTPRouteRetryStatusCode: 400 to 599; sorted, without repeats. */
function convertCodes(v: unknown, field: string): number[] | string {
  if (v === undefined || v === null) return [...DEFAULT_RETRY_CODES];
  if (!Array.isArray(v)) return `${field}: must be a list of status codes`;
  const bad = v.findIndex((c) => !isIntegerIn(c, 400, 599));
  if (bad >= 0) return `${field}[${bad}]: ${JSON.stringify(v[bad])} must be an HTTP status code from 400 to 599`;
  return [...new Set(v as number[])].sort((a, b) => a - b);
}
