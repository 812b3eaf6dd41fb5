// A live config: one IR version compiled, plus the runtime state the proxy needs per route
// (weighted-choice scores) and per backend (endpoint rotation, pools). Built off the request
// path; the data plane swaps one reference to it.
import type { CompiledConfig, CompiledRoute } from '../compiler/index.ts';
import type { IRBackend } from '../ir/index.ts';
import type { BackendState, ChoiceState, EndpointState } from './balancer.ts';
import { endpointKey, type UpstreamPools } from './upstream-pools.ts';

export interface RouteState {
  readonly route: CompiledRoute;
  /** Status to answer directly (DirectResponse), or 0 to forward. */
  readonly directStatus: number;
  readonly choices: readonly ChoiceState[];
  readonly totalWeight: number;
  /** Route timeout (the smaller of requestMs and backendRequestMs), 0 for none. */
  readonly timeoutMs: number;
  /** Content of the action, to tell whether weighted-choice state can carry over. */
  readonly fingerprint: string;
}

export interface LiveConfig {
  readonly version: string;
  readonly compiled: CompiledConfig;
  /** Indexed by CompiledRoute.id. */
  readonly routes: readonly RouteState[];
  /** Every endpoint key the config uses. */
  readonly endpointKeys: ReadonlySet<string>;
}

export function buildLiveConfig(version: string, compiled: CompiledConfig, pools: UpstreamPools, previous: LiveConfig | undefined): LiveConfig {
  const endpointKeys = new Set<string>();
  const backends = new Map<string, BackendState>();
  for (const backend of compiled.backends.values()) backends.set(backend.name, buildBackend(backend, pools, endpointKeys));
  const carried = new Map<string, RouteState>();
  if (previous !== undefined) for (const r of previous.routes) carried.set(r.route.name, r);
  const routes = compiled.routes.map((route) => buildRoute(route, backends, carried.get(route.name)));
  return { version, compiled, routes, endpointKeys };
}

function buildBackend(backend: IRBackend, pools: UpstreamPools, keys: Set<string>): BackendState {
  // Route to ready endpoints; only when none is ready, to serving-but-terminating ones.
  const ready = backend.endpoints.filter((e) => !e.terminating);
  const usable = ready.length > 0 ? ready : backend.endpoints;
  const endpoints: EndpointState[] = usable.map((e) => {
    const key = endpointKey(e.address, e.port);
    keys.add(key);
    return { key, pool: pools.acquire(e.address, e.port) };
  });
  return { name: backend.name, endpoints, next: 0 };
}

function buildRoute(route: CompiledRoute, backends: Map<string, BackendState>, previous: RouteState | undefined): RouteState {
  const action = route.action;
  const t = route.timeouts;
  const limits = [t?.requestMs, t?.backendRequestMs].filter((ms): ms is number => ms !== undefined && ms > 0);
  const timeoutMs = limits.length > 0 ? Math.min(...limits) : 0;
  if (action.type === 'DirectResponse') {
    return { route, directStatus: action.status, choices: [], totalWeight: 0, timeoutMs, fingerprint: '' };
  }
  const fingerprint = JSON.stringify(action.choices);
  const keep = previous !== undefined && previous.fingerprint === fingerprint;
  const choices: ChoiceState[] = action.choices.map((c, i) => ({
    weight: c.weight,
    backend: c.backend === undefined ? undefined : backends.get(c.backend),
    status: c.status,
    current: keep ? previous.choices[i].current : 0,
  }));
  const totalWeight = choices.reduce((sum, c) => sum + c.weight, 0);
  return { route, directStatus: 0, choices, totalWeight, timeoutMs, fingerprint };
}
