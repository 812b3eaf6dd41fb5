// Host tables: exact map lookup, then wildcard suffixes longest first, then the catch-all.
// lookupHost() and normalizeHost() run per request.
import type { HostTable } from './types.ts';

/** Builds a table from entries keyed by hostname; `undefined` or `*` is the catch-all. */
export function buildHostTable<T>(entries: readonly { hostname: string | undefined; value: T }[]): HostTable<T> {
  const exact = new Map<string, T>();
  const wildcard = new Map<string, T>();
  let any: T | undefined;
  for (const { hostname, value } of entries) {
    if (hostname === undefined || hostname === '*' || hostname === '') {
      any ??= value;
      continue;
    }
    const host = normalizeName(hostname);
    if (host.startsWith('*.')) {
      const suffix = host.slice(1);
      if (!wildcard.has(suffix)) wildcard.set(suffix, value);
    } else if (!exact.has(host)) {
      exact.set(host, value);
    }
  }
  return { exact, wildcard, any };
}

function normalizeName(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * The most specific entry for a normalized host. Walking the dots from the left tries the
 * longest wildcard suffix first; the suffix must leave at least one label, so `*.example.com`
 * never matches `example.com` itself.
 */
export function lookupHost<T>(table: HostTable<T>, host: string): T | undefined {
  const exact = table.exact.get(host);
  if (exact !== undefined) return exact;
  if (table.wildcard.size > 0) {
    let dot = host.indexOf('.');
    while (dot > 0) {
      const hit = table.wildcard.get(host.slice(dot));
      if (hit !== undefined) return hit;
      dot = host.indexOf('.', dot + 1);
    }
  }
  return table.any;
}

/**
 * Request Host header → lookup key: port stripped, lower-cased, trailing dot ignored.
 * Allocates only when the host needs changing.
 */
export function normalizeHost(raw: string | undefined): string {
  if (raw === undefined) return '';
  let end = raw.length;
  let upper = false;
  if (raw.charCodeAt(0) === 91 /* [ */) {
    const close = raw.indexOf(']');
    end = close < 0 ? end : close + 1;
    upper = true;
  } else {
    for (let i = 0; i < end; i++) {
      const c = raw.charCodeAt(i);
      if (c === 58 /* : */) { end = i; break; }
      if (c >= 65 && c <= 90) upper = true;
    }
  }
  if (end > 0 && raw.charCodeAt(end - 1) === 46 /* . */) end--;
  const host = end === raw.length ? raw : raw.slice(0, end);
  return upper ? host.toLowerCase() : host;
}
