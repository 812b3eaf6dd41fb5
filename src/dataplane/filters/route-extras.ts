// What a route needs beyond forwarding, resolved once per config: the rule's filters with
// their mirrors' backend states, a redirect, per-attempt timeout and retry. A route without
// any of them has none (RouteState.extras undefined), and its requests never look further.
import type { CompiledFilters, CompiledRedirect, CompiledRoute } from '../../compiler/index.ts';
import type { IRRouteRetry } from '../../ir/index.ts';
import type { BackendState } from '../backend-state.ts';
import type { MirrorState } from './mirror.ts';

export interface RouteExtras {
  /** The rule's filters (HTTPRouteRule.filters). */
  readonly filters: CompiledFilters | undefined;
  /** The rule's RequestMirror filters, resolved. */
  readonly mirrors: readonly MirrorState[];
  readonly redirect: CompiledRedirect | undefined;
  /** timeouts.backendRequest: each attempt's limit, 0 for none. */
  readonly backendTimeoutMs: number;
  /** HTTPRouteRule.retry. */
  readonly retry: IRRouteRetry | undefined;
  /** Some backendRef of the rule has filters of its own. */
  readonly choiceFilters: boolean;
}

/** The route's extras, or undefined for a plain route (the fast path). */
export function routeExtras(route: CompiledRoute, backends: ReadonlyMap<string, BackendState>, previous: RouteExtras | undefined): RouteExtras | undefined {
  const action = route.action;
  const redirect = action.type === 'Redirect' ? action : undefined;
  const backendTimeoutMs = route.timeouts?.backendRequestMs ?? 0;
  const choiceFilters = action.type === 'Forward' && action.choices.some((c) => c.filters !== undefined);
  if (route.filters === undefined && redirect === undefined && backendTimeoutMs <= 0 && route.retry === undefined && !choiceFilters) return undefined;
  return {
    filters: route.filters,
    mirrors: mirrorStates(route.filters, backends, previous?.mirrors),
    redirect, backendTimeoutMs, retry: route.retry, choiceFilters,
  };
}

/** Mirror states of `filters`, keeping the running share scores of `previous` in the same places. */
export function mirrorStates(
  filters: CompiledFilters | undefined, backends: ReadonlyMap<string, BackendState>, previous: readonly MirrorState[] | undefined,
): MirrorState[] {
  if (filters === undefined) return [];
  return filters.mirrors.map((m, i) => ({
    backend: backends.get(m.backend),
    numerator: m.numerator,
    denominator: m.denominator,
    score: previous?.[i]?.score ?? 0,
    inFlight: 0,
  }));
}
