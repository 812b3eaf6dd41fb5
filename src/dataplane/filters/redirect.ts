// HTTPRequestRedirectFilter: the Location of a redirect answer, from the request and the filter.
import { lookupHost, normalizeHost, type CompiledBind, type CompiledRedirect } from '../../compiler/index.ts';
import { applyPathModifier } from './path-modifier.ts';

/**
 * `scheme://host[:port]path[?query]`: each field of the filter absent keeps the request's
 * value. Port rules (HTTPRequestRedirectFilter.port): with no port, a scheme in the filter means
 * its well-known port (http 80, https 443) and no scheme means the Gateway listener's port
 * (`listenerPort`, not the socket's); the port is left out when it is the scheme's well-known
 * one. `host` is the request's host without its port; the query string is kept.
 */
export function redirectLocation(
  r: CompiledRedirect, requestScheme: 'http' | 'https', host: string, listenerPort: number, path: string, query: string,
): string {
  const scheme = r.scheme ?? requestScheme;
  const port = r.port ?? (r.scheme === undefined ? listenerPort : wellKnownPort(r.scheme));
  const portText = port === wellKnownPort(scheme) ? '' : `:${port}`;
  const target = r.path === undefined ? path : applyPathModifier(path, r.path);
  return `${scheme}://${r.hostname ?? host}${portText}${target}${query === '' ? '' : `?${query}`}`;
}

function wellKnownPort(scheme: 'http' | 'https'): number {
  return scheme === 'https' ? 443 : 80;
}

/**
 * The Location for a request on `table` with Host `rawHost` and target `url`: the listener's port
 * is the Gateway listener's (found by the host, as the route was), the scheme the bind's; a
 * request without Host (HTTP/1.0) is sent to the bind's address.
 */
export function redirectLocationFor(r: CompiledRedirect, table: CompiledBind, rawHost: string | undefined, url: string): string {
  const q = url.indexOf('?');
  const host = normalizeHost(rawHost);
  const listenerPort = lookupHost(table.listeners, host)?.port ?? table.port;
  const scheme = table.protocol === 'HTTPS' ? 'https' : 'http';
  const address = table.address.includes(':') ? `[${table.address}]` : table.address;
  return redirectLocation(r, scheme, host || address, listenerPort, q < 0 ? url : url.slice(0, q), q < 0 ? '' : url.slice(q + 1));
}
