// A live config: one IR version compiled, plus the runtime state the proxy needs per route
// (weighted-choice scores) and per backend (balancer, pools; kept across versions). Built off the
// request path; the data plane swaps one reference to it.
import type { CompiledConfig, CompiledRoute } from '../compiler/index.ts';
import { BackendState, balancingPolicyOf, defaultBalancingContext, type BalancingContext } from './backend-state.ts';
import type { ChoiceState } from './balancer.ts';
import { mirrorStates, routeExtras, type RouteExtras } from './filters/route-extras.ts';
import type { HealthView } from './health/health-view.ts';
import { SessionPersistence } from './lb/index.ts';
import type { UpstreamPools } from './upstream-pools.ts';

export interface RouteState {
  readonly route: CompiledRoute;
  /** Status to answer directly (DirectResponse), or 0 to forward. */
  readonly directStatus: number;
  readonly choices: readonly ChoiceState[];
  readonly totalWeight: number;
  /**
   * timeouts.request: the whole request, retries and their backoff included; 0 for none.
   * timeouts.backendRequest (each attempt) is in `extras`.
   */
  readonly timeoutMs: number;
  /** Content of the action, to tell whether weighted-choice state can carry over. */
  readonly fingerprint: string;
  /** HTTPRouteRule.sessionPersistence: looked up across the choices' backends before the weighted choice. */
  readonly session: SessionPersistence | undefined;
  /** Filters, redirect, per-attempt timeout, retry: undefined for a plain route, which skips them all. */
  readonly extras: RouteExtras | undefined;
}

export interface LiveConfig {
  readonly version: string;
  readonly compiled: CompiledConfig;
  /** Indexed by CompiledRoute.id. */
  readonly routes: readonly RouteState[];
  /** By IRBackend name; the next version keeps the ones that stay. */
  readonly backends: ReadonlyMap<string, BackendState>;
  /** Every endpoint key the config uses. */
  readonly endpointKeys: ReadonlySet<string>;
}

export function buildLiveConfig(
  version: string, compiled: CompiledConfig, pools: UpstreamPools, previous: LiveConfig | undefined, health?: HealthView,
  context: BalancingContext = defaultBalancingContext(),
): LiveConfig {
  const endpointKeys = new Set<string>();
  const backends = new Map<string, BackendState>();
  for (const backend of compiled.backends.values()) {
    const kept = previous?.backends.get(backend.name);
    // The same IR object as the kept state's: nothing to work out again (IR objects are never mutated).
    if (kept !== undefined && kept.source === backend) {
      kept.update(backend, pools, endpointKeys);
      backends.set(backend.name, kept);
      continue;
    }
    const policy = balancingPolicyOf(backend.policy);
    // Updated in place: requests still running on the previous config see the new endpoints too.
    const state = kept !== undefined && kept.policyKey === policy.key ? kept : new BackendState(backend.name, policy, health, context);
    state.update(backend, pools, endpointKeys);
    backends.set(backend.name, state);
  }
  if (previous !== undefined) for (const [name, old] of previous.backends) if (backends.get(name) !== old) old.close();
  return { version, compiled, routes: buildRoutes(compiled, previous, backends, context), backends, endpointKeys };
}

/**
 * The state of every route. After a small change almost every compiled route is the very object
 * at the same position as before (the compiler reuses unchanged virtual hosts), and with no
 * backend state replaced its state carries over as it is: that case is a plain copy.
 */
function buildRoutes(compiled: CompiledConfig, previous: LiveConfig | undefined, backends: Map<string, BackendState>, context: BalancingContext): RouteState[] {
  const next = compiled.routes;
  const routes = new Array<RouteState>(next.length);
  const replaced = replacedBackends(previous, backends);
  const before = replaced.size === 0 ? previous?.compiled.routes : undefined;
  const carried = carriedRoutes(previous);
  for (let i = 0; i < next.length; i++) {
    const route = next[i];
    if (before !== undefined && before[i] === route) {
      const same = previous!.routes[i];
      if (same.route === route) {
        routes[i] = same;
        continue;
      }
    }
    routes[i] = buildRoute(route, backends, carried(route), replaced, context);
  }
  return routes;
}

/** The previous state of a route, by name: most often found at the same id. */
function carriedRoutes(previous: LiveConfig | undefined): (route: CompiledRoute) => RouteState | undefined {
  let byName: Map<string, RouteState> | undefined;
  return (route) => {
    if (previous === undefined) return undefined;
    const same = previous.routes[route.id];
    if (same !== undefined && same.route.name === route.name) return same;
    if (byName === undefined) {
      byName = new Map();
      for (const r of previous.routes) byName.set(r.route.name, r);
    }
    return byName.get(route.name);
  };
}

/** Backends whose state is not the previous config's (new, gone, or rebuilt for another policy). */
function replacedBackends(previous: LiveConfig | undefined, backends: ReadonlyMap<string, BackendState>): Set<string> {
  const replaced = new Set<string>();
  if (previous === undefined) return replaced;
  for (const [name, state] of backends) if (previous.backends.get(name) !== state) replaced.add(name);
  for (const name of previous.backends.keys()) if (!backends.has(name)) replaced.add(name);
  return replaced;
}

/** Whether a route's state can serve the next config as it is: the same compiled route over the same backend states. */
function unchanged(previous: RouteState, route: CompiledRoute, replaced: ReadonlySet<string>): boolean {
  // A virtual host that moved gets copies of its compiled routes with new ids: the same IR route
  // and the same compiled action still mean the same state.
  if (previous.route !== route && (previous.route.source !== route.source || previous.route.action !== route.action)) return false;
  if (replaced.size === 0) return true;
  const kept = (name: string | undefined) => name === undefined || !replaced.has(name);
  if (route.filters !== undefined && !route.filters.mirrors.every((m) => kept(m.backend))) return false;
  if (route.action.type !== 'Forward') return true;
  return route.action.choices.every((c) => kept(c.backend) && (c.filters === undefined || c.filters.mirrors.every((m) => kept(m.backend))));
}

function buildRoute(
  route: CompiledRoute, backends: Map<string, BackendState>, previous: RouteState | undefined, replaced: ReadonlySet<string>, context: BalancingContext,
): RouteState {
  // The compiler reuses unchanged routes, and backend states are kept: most routes carry over.
  if (previous !== undefined && unchanged(previous, route, replaced)) return previous;
  const action = route.action;
  const timeoutMs = route.timeouts?.requestMs ?? 0;
  const extras = routeExtras(route, backends, previous?.extras);
  if (action.type !== 'Forward') {
    const directStatus = action.type === 'DirectResponse' ? action.status : action.statusCode;
    return { route, directStatus, choices: [], totalWeight: 0, timeoutMs, fingerprint: '', session: undefined, extras };
  }
  const fingerprint = previous !== undefined && previous.route.action === action ? previous.fingerprint : JSON.stringify(action.choices);
  const keep = previous !== undefined && previous.fingerprint === fingerprint;
  const choices: ChoiceState[] = action.choices.map((c, i) => ({
    weight: c.weight,
    backend: c.backend === undefined ? undefined : backends.get(c.backend),
    status: c.status,
    current: keep ? previous.choices[i].current : 0,
    filters: c.filters,
    mirrors: mirrorStates(c.filters, backends, keep ? previous.choices[i].mirrors : undefined),
  }));
  const totalWeight = choices.reduce((sum, c) => sum + c.weight, 0);
  return { route, directStatus: 0, choices, totalWeight, timeoutMs, fingerprint, session: sessionOf(route, context), extras };
}

/** The rule's session persistence (stateless: tokens carry the session, signed with the fleet's secret). */
function sessionOf(route: CompiledRoute, context: BalancingContext): SessionPersistence | undefined {
  const source = route.source.action;
  const c = source.type === 'Forward' ? source.sessionPersistence : undefined;
  if (c === undefined) return undefined;
  return new SessionPersistence({
    name: c.name, type: c.type, lifetime: c.lifetime, path: c.path, secure: c.secure,
    absoluteTimeoutMs: c.absoluteTimeoutMs, idleTimeoutMs: c.idleTimeoutMs,
  }, { secret: context.stickySecret });
}
