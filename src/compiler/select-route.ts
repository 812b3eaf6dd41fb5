// The hot path: selectRoute() runs for every request; changes here are measured (bench/).
import { lookupHost } from './host-table.ts';
import {
  PATH_ANY, PATH_EXACT, PATH_PREFIX,
  type CompiledBind, type CompiledRoute, type CompiledStringMatch,
} from './types.ts';

/**
 * The route that handles a request on a bind, or undefined (404). `host` is normalized
 * (see normalizeHost), `path` is the raw path before `?`, `rawHeaders` is the flat
 * name/value array of the request (as node's IncomingMessage.rawHeaders), `rawQuery` the text
 * after `?` (empty when none). The most specific listener, then the most specific virtual host
 * is chosen; no fall-through to less specific ones when their routes do not match.
 */
export function selectRoute(
  bind: CompiledBind, host: string, method: string, path: string,
  rawHeaders: readonly string[], rawQuery: string,
): CompiledRoute | undefined {
  const listener = lookupHost(bind.listeners, host);
  if (listener === undefined) return undefined;
  const vhost = lookupHost(listener.virtualHosts, host);
  if (vhost === undefined) return undefined;
  const routes = vhost.routes;
  let query: Map<string, string> | undefined;
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i];
    if (!route.valid) continue;
    if (!matchPath(route, path)) continue;
    if (route.method !== undefined && route.method !== method) continue;
    if (route.headers.length > 0 && !matchHeaders(route.headers, rawHeaders)) continue;
    if (route.queryParams.length > 0) {
      query ??= parseQuery(rawQuery);
      if (!matchQuery(route.queryParams, query)) continue;
    }
    return route;
  }
  return undefined;
}

function matchPath(route: CompiledRoute, path: string): boolean {
  const kind = route.pathKind;
  if (kind === PATH_ANY) return true;
  const value = route.pathValue;
  if (kind === PATH_EXACT) return path === value;
  if (kind === PATH_PREFIX) {
    return path.startsWith(value) && (path.length === value.length || path.charCodeAt(value.length) === 47 /* / */);
  }
  return route.pathRegex!.test(path);
}

function matchHeaders(matches: readonly CompiledStringMatch[], rawHeaders: readonly string[]): boolean {
  for (let i = 0; i < matches.length; i++) {
    const m = matches[i];
    const value = headerValue(rawHeaders, m.name);
    if (value === undefined) return false;
    if (m.regex !== undefined ? !m.regex.test(value) : value !== m.value) return false;
  }
  return true;
}

/** Values of a header (lower-case `name`), repeated ones joined by ",". */
export function headerValue(rawHeaders: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const key = rawHeaders[i];
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    value = value === undefined ? rawHeaders[i + 1] : `${value},${rawHeaders[i + 1]}`;
  }
  return value;
}

function matchQuery(matches: readonly CompiledStringMatch[], query: Map<string, string>): boolean {
  for (let i = 0; i < matches.length; i++) {
    const m = matches[i];
    const value = query.get(m.name);
    if (value === undefined) return false;
    if (m.regex !== undefined ? !m.regex.test(value) : value !== m.value) return false;
  }
  return true;
}

/** Decoded query parameters, first value per name (form encoding: `+` is a space). */
export function parseQuery(rawQuery: string): Map<string, string> {
  const out = new Map<string, string>();
  if (rawQuery === '') return out;
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decodeFormComponent(eq < 0 ? pair : pair.slice(0, eq));
    if (!out.has(name)) out.set(name, eq < 0 ? '' : decodeFormComponent(pair.slice(eq + 1)));
  }
  return out;
}

/** A query-string name or value as a form decodes it (`+` is a space); malformed escapes stay as written. */
export function decodeFormComponent(text: string): string {
  const plain = text.includes('+') ? text.replaceAll('+', ' ') : text;
  if (!plain.includes('%')) return plain;
  try {
    return decodeURIComponent(plain);
  } catch {
    return plain;
  }
}
