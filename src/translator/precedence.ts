// Ordering rules from the spec: object age for conflicts between Gateways and routes, and
// HTTPRouteRule.matches precedence for the IR route lists.
import type { KubeObject } from '../api/index.ts';
import { isWildcard } from './hostnames.ts';
import type { AttachedRoute } from './model.ts';

/**
 * Older first (metadata.creationTimestamp, RFC 3339 in UTC as the API server writes it, so
 * text order is time order; a missing timestamp counts as newest), then namespace/name.
 */
export function compareAge(a: KubeObject, b: KubeObject): number {
  const at = timestampOf(a);
  const bt = timestampOf(b);
  if (at !== bt) return at < bt ? -1 : 1;
  return compareText(`${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}`, `${b.metadata?.namespace ?? ''}/${b.metadata?.name ?? ''}`);
}

function timestampOf(obj: KubeObject): string {
  const ts = obj.metadata?.creationTimestamp;
  return ts === undefined || ts === null ? '\uffff' : String(ts);
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Path types in precedence order. RegularExpression precedence is implementation-specific:
 * Waygate puts regular expressions after every Exact path and before every PathPrefix, so a
 * catch-all prefix such as `/` never hides a regular expression; longer expressions first.
 */
const PATH_TYPE_RANK: Readonly<Record<string, number>> = { Exact: 0, RegularExpression: 1, PathPrefix: 2 };

/**
 * HTTPRouteRule.matches precedence, continuing on ties: Exact path; longest PathPrefix;
 * method match; most header matches; most query param matches; oldest route; route
 * namespace/name; rule order; match order.
 */
export function compareMatchPrecedence(a: AttachedRoute, b: AttachedRoute): number {
  const am = a.ir.match;
  const bm = b.ir.match;
  return (PATH_TYPE_RANK[am.path.type] - PATH_TYPE_RANK[bm.path.type])
    || (bm.path.value.length - am.path.value.length)
    || (Number(bm.method !== undefined) - Number(am.method !== undefined))
    || (bm.headers.length - am.headers.length)
    || (bm.queryParams.length - am.queryParams.length)
    || compareAge(a.route, b.route)
    || (a.ruleIndex - b.ruleIndex)
    || (a.matchIndex - b.matchIndex)
    || compareText(a.ir.name, b.ir.name);
}

/**
 * HTTPRoute.spec.hostnames precedence: when a virtual host also serves routes attached for a
 * less specific hostname (a wildcard covering it, or any host), rules of the route with the
 * most characters in a matching non-wildcard hostname come first, then the most characters
 * in a matching hostname; then HTTPRouteMatch precedence.
 */
export function compareRoutePrecedence(a: AttachedRoute, b: AttachedRoute): number {
  return (Number(!isWildcard(b.hostname) && b.hostname !== '*') - Number(!isWildcard(a.hostname) && a.hostname !== '*'))
    || (hostnameLength(b.hostname) - hostnameLength(a.hostname))
    || compareMatchPrecedence(a, b);
}

function hostnameLength(hostname: string): number {
  return hostname === '*' ? 0 : hostname.length;
}
