// The hot path: the weighted choice of a backend per request; changes here are measured.
// Endpoints are picked by the backend's balancer (lb/).
import type { CompiledFilters } from '../compiler/index.ts';
import type { BackendState } from './backend-state.ts';
import type { MirrorState } from './filters/mirror.ts';
import type { Balancer, Endpoint, PickContext } from './lb/index.ts';

export interface ChoiceState {
  readonly weight: number;
  readonly backend: BackendState | undefined;
  readonly status: number;
  current: number;
  /** The backendRef's own filters (applied after the rule's), and its mirrors resolved. */
  readonly filters: CompiledFilters | undefined;
  readonly mirrors: readonly MirrorState[];
}

/**
 * Smooth weighted round robin (as nginx): every pick adds each weight to its running score,
 * takes the highest and subtracts the total from it. Spreads a 3:1 split as a,a,b,a and not
 * a,a,a,b. One choice skips the arithmetic.
 */
export function pickChoice(choices: readonly ChoiceState[], total: number): ChoiceState {
  if (choices.length === 1) return choices[0];
  let best = choices[0];
  for (let i = 0; i < choices.length; i++) {
    const c = choices[i];
    c.current += c.weight;
    if (c.current > best.current) best = c;
  }
  best.current -= total;
  return best;
}

/**
 * For a retry: a usable endpoint no attempt of the request failed on, from the balancer's newest
 * endpoints. `pick` carries neither hash key nor cookie, which would name the failed one again.
 */
export function untriedEndpoint(balancer: Balancer, pick: PickContext, failed: (e: Endpoint) => boolean): Endpoint | undefined {
  for (let tries = balancer.endpoints.length; tries > 0; tries--) {
    const e = balancer.pick(pick);
    if (e === undefined) return undefined;
    if (!failed(e)) return e;
  }
  return undefined;
}
