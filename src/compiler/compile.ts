// compile(): IR → routing tables. Pure; runs once per IR version, off the request path.
// Every regular expression is built here, so selecting a route never constructs one.
import type { IR, IRBind, IRHttpListener, IRRoute, IRVirtualHost } from '../ir/index.ts';
import { compileFilters, compileRedirect } from './compile-filters.ts';
import { buildHostTable } from './host-table.ts';
import {
  PATH_ANY, PATH_EXACT, PATH_PREFIX, PATH_REGEX,
  type CompiledAction, type CompiledBind, type CompiledConfig, type CompiledListener,
  type CompiledRoute, type CompiledStringMatch, type CompiledVirtualHost, type PathKind,
} from './types.ts';

export function compile(ir: IR): CompiledConfig {
  const routes: CompiledRoute[] = [];
  const errors: string[] = [];
  const binds = new Map<string, CompiledBind>();
  for (const bind of ir.binds) binds.set(bind.name, compileBind(bind, routes, errors));
  const backends = new Map(ir.backends.map((b) => [b.name, b] as const));
  return { binds, routes, backends, errors };
}

function compileBind(bind: IRBind, routes: CompiledRoute[], errors: string[]): CompiledBind {
  const listeners = bind.listeners.map((l) => ({ hostname: l.hostname, value: compileListener(l, routes, errors) }));
  return { name: bind.name, address: bind.address, port: bind.port, protocol: bind.protocol, listeners: buildHostTable(listeners) };
}

function compileListener(listener: IRHttpListener, routes: CompiledRoute[], errors: string[]): CompiledListener {
  const vhosts = listener.virtualHosts.map((v) => ({ hostname: v.hostname, value: compileVirtualHost(v, routes, errors) }));
  return { name: listener.name, hostname: listener.hostname, port: listener.port, virtualHosts: buildHostTable(vhosts) };
}

// IR objects are never mutated, so a virtual host is compiled once per object: after a small
// change (whose unchanged parts the worker receives as the same objects) only new virtual hosts
// are compiled. Route ids are positions in CompiledConfig.routes, so a virtual host that moved
// gets copies of its routes with the new ids (its regular expressions are not built again).
const compiledVirtualHosts = new WeakMap<IRVirtualHost, { readonly compiled: CompiledVirtualHost; readonly errors: readonly string[] }>();

function compileVirtualHost(vhost: IRVirtualHost, routes: CompiledRoute[], errors: string[]): CompiledVirtualHost {
  const first = routes.length;
  const known = compiledVirtualHosts.get(vhost);
  if (known !== undefined) {
    errors.push(...known.errors);
    const moved = known.compiled.routes.length > 0 && known.compiled.routes[0].id !== first;
    const compiled = moved ? { hostname: vhost.hostname, routes: known.compiled.routes.map((r, i) => ({ ...r, id: first + i })) } : known.compiled;
    for (const route of compiled.routes) routes.push(route);
    if (moved) compiledVirtualHosts.set(vhost, { compiled, errors: known.errors });
    return compiled;
  }
  const problems: string[] = [];
  const compiled = vhost.routes.map((r) => {
    const route = compileRoute(r, routes.length, problems);
    routes.push(route);
    return route;
  });
  errors.push(...problems);
  const result = { hostname: vhost.hostname, routes: compiled };
  compiledVirtualHosts.set(vhost, { compiled: result, errors: problems });
  return result;
}

function compileRoute(route: IRRoute, id: number, errors: string[]): CompiledRoute {
  const problems: string[] = [];
  const { path } = route.match;
  let pathKind: PathKind = PATH_EXACT;
  let pathValue = path.value;
  let pathRegex: RegExp | undefined;
  if (path.type === 'PathPrefix') {
    // Segment semantics: a trailing slash in the prefix is ignored, `/` matches every path.
    pathValue = path.value.replace(/\/+$/, '');
    pathKind = pathValue === '' ? PATH_ANY : PATH_PREFIX;
  } else if (path.type === 'RegularExpression') {
    pathKind = PATH_REGEX;
    pathRegex = anchoredRegex(path.value, 'path', problems);
  }
  const headers = route.match.headers.map((h) => compileStringMatch(h.name.toLowerCase(), h.type, h.value, `header ${h.name}`, problems));
  const queryParams = route.match.queryParams.map((q) => compileStringMatch(q.name, q.type, q.value, `query param ${q.name}`, problems));
  const valid = problems.length === 0;
  // Filter problems (a path modifier that cannot apply) are reported but leave the route valid.
  const action = compileAction(route, problems);
  const filters = compileFilters(route.filters, route, problems);
  for (const p of problems) errors.push(`route ${route.name}: ${p}`);
  return {
    id, name: route.name, pathKind, pathValue, pathRegex, method: route.match.method,
    headers, queryParams, action, timeouts: route.timeouts, filters, retry: route.retry,
    valid, source: route,
  };
}

function compileAction(route: IRRoute, problems: string[]): CompiledAction {
  const action = route.action;
  if (action.type === 'DirectResponse') return { type: 'DirectResponse', status: action.status };
  if (action.type === 'Redirect') return compileRedirect(action, route, problems);
  const choices = action.backends.map((c) => ({
    weight: c.weight, backend: c.backend, status: c.status ?? 500, filters: compileFilters(c.filters, route, problems),
  }));
  return { type: 'Forward', choices };
}

function compileStringMatch(name: string, type: string, value: string, what: string, problems: string[]): CompiledStringMatch {
  if (type === 'RegularExpression') return { name, regex: anchoredRegex(value, what, problems), value };
  return { name, regex: undefined, value };
}

// A regular expression that can never match stands in for an invalid one, so the route is
// kept (its position still shadows later routes) but never selected.
const NEVER = /(?!)/;

function anchoredRegex(source: string, what: string, problems: string[]): RegExp {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (err) {
    problems.push(`invalid ${what} regular expression ${JSON.stringify(source)}: ${(err as Error).message}`);
    return NEVER;
  }
}
