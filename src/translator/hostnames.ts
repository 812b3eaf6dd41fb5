// Hostname rules shared by listeners and routes (Listener.hostname, HTTPRoute.spec.hostnames):
// a `*.` wildcard label is a suffix match on one or more labels (`*.example.com` matches
// `a.example.com` and `a.b.example.com`, never `example.com`).

const HOSTNAME_RE = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const IPV4_LIKE_RE = /^[0-9.]+$/;

/** A valid Gateway API Hostname: RFC 1123, optionally `*.`-prefixed, never an IP address. */
export function isValidHostname(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 253 && HOSTNAME_RE.test(value) && !IPV4_LIKE_RE.test(value);
}

export function isWildcard(hostname: string): boolean {
  return hostname.startsWith('*.');
}

/** Whether `pattern` (exact or wildcard) matches `host` (exact or wildcard, treated as a set of names). */
export function hostnameCovers(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (!isWildcard(pattern)) return pattern === host;
  const suffix = pattern.slice(1); // ".example.com"
  if (isWildcard(host)) return host === pattern || host.slice(1).endsWith(suffix);
  return host.endsWith(suffix) && host.length > suffix.length;
}

/**
 * The hostnames a route serves on a listener: the route hostnames intersected with the
 * listener hostname (the more specific of each overlapping pair). Absent hostnames match all.
 * `['*']` when neither side restricts hosts.
 */
export function intersectHostnames(listenerHostname: string | undefined, routeHostnames: readonly string[]): string[] {
  if (routeHostnames.length === 0) return [listenerHostname ?? '*'];
  if (listenerHostname === undefined) return dedupe(routeHostnames);
  const out: string[] = [];
  for (const host of routeHostnames) {
    if (hostnameCovers(listenerHostname, host)) out.push(host);
    else if (hostnameCovers(host, listenerHostname)) out.push(listenerHostname);
  }
  return dedupe(out);
}

function dedupe(values: readonly string[]): string[] {
  return [...new Set(values)];
}
