// Small builders for hand-written IR in data plane tests.
import type { IR, IRBackend, IRBind, IRHttpListener, IRMatch, IRRoute, IRTimeouts, IRVirtualHost, IRWeightedBackend } from '../../src/ir/index.ts';

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
