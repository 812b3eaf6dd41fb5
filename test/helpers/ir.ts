// Small builders for hand-written IR in data plane tests.
import type {
  IR, IRBackend, IRBind, IRCors, IRFilters, IRHeaderModifier, IRHttpListener, IRMatch, IRRedirectAction, IRRoute, IRTimeouts, IRVirtualHost,
  IRWeightedBackend,
} from '../../src/ir/index.ts';

export function bind(port: number, listeners: IRHttpListener[]): IRBind {
  return { name: `127.0.0.1:${port}`, address: '127.0.0.1', port, protocol: 'HTTP', listeners };
}

/** A listener with one catch-all virtual host (or the given ones). */
export function listener(name: string, routesOrVhosts: IRRoute[] | IRVirtualHost[], hostname?: string): IRHttpListener {
  const vhosts = routesOrVhosts.length > 0 && 'hostname' in routesOrVhosts[0]
    ? (routesOrVhosts as IRVirtualHost[])
    : [{ hostname: hostname ?? '*', routes: routesOrVhosts as IRRoute[] }];
  return { name, hostname, port: 80, virtualHosts: vhosts };
}

export function forward(name: string, choices: IRWeightedBackend[] | string, match: Partial<IRMatch> = {}, timeouts?: IRTimeouts): IRRoute {
  const backends = typeof choices === 'string' ? [{ weight: 1, backend: choices }] : choices;
  return {
    name,
    match: { path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [], ...match },
    action: { type: 'Forward', backends },
    ...(timeouts ? { timeouts } : {}),
  };
}

export function prefix(value: string): Partial<IRMatch> {
  return { path: { type: 'PathPrefix', value } };
}

export function backend(name: string, ports: number[], address = '127.0.0.1'): IRBackend {
  return { name, endpoints: ports.map((port) => ({ address, port })) };
}

export function ir(binds: IRBind[], backends: IRBackend[]): IR {
  return { binds, backends: [...backends].sort((a, b) => (a.name < b.name ? -1 : 1)) };
}

/** `route` with the rule's filters, retry or timeouts added. */
export function withRule(route: IRRoute, extra: Pick<IRRoute, 'filters' | 'retry' | 'timeouts'>): IRRoute {
  return { ...route, ...extra };
}

/** A route whose action is a redirect. */
export function redirect(name: string, action: Omit<IRRedirectAction, 'type'>, match: Partial<IRMatch> = {}): IRRoute {
  return {
    name,
    match: { path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [], ...match },
    action: { type: 'Redirect', ...action },
  };
}

/** An HTTPHeaderFilter; each part optional. */
export function headerModifier(m: { set?: [string, string][]; add?: [string, string][]; remove?: string[] }): IRHeaderModifier {
  const pairs = (list: [string, string][] | undefined) => (list ?? []).map(([name, value]) => ({ name, value }));
  return { set: pairs(m.set), add: pairs(m.add), remove: m.remove ?? [] };
}

/** A listener (as `listener`) on an HTTPS bind or with its own Gateway port. */
export function listenerOnPort(name: string, routes: IRRoute[], port: number, hostname?: string): IRHttpListener {
  return { ...listener(name, routes, hostname), port };
}

export function cors(c: Partial<IRCors>): IRCors {
  return { allowOrigins: [], allowCredentials: false, allowMethods: [], allowHeaders: [], exposeHeaders: [], maxAgeSeconds: 5, ...c };
}

