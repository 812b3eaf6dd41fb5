// The hot path: weighted choice and endpoint rotation per request; changes here are measured.
import type { Pool } from 'undici';

export interface EndpointState {
  /** `address:port`, the key of its shared pool. */
  readonly key: string;
  readonly pool: Pool;
}

export interface BackendState {
  readonly name: string;
  /** Ready endpoints, or the terminating ones when none is ready. */
  readonly endpoints: readonly EndpointState[];
  next: number;
}

export interface ChoiceState {
  readonly weight: number;
  readonly backend: BackendState | undefined;
  readonly status: number;
  current: number;
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

/** Next endpoint in rotation; undefined when the backend has none. */
export function pickEndpoint(backend: BackendState): EndpointState | undefined {
  const endpoints = backend.endpoints;
  const n = endpoints.length;
  if (n === 0) return undefined;
  if (n === 1) return endpoints[0];
  const i = backend.next;
  backend.next = i + 1 >= n ? 0 : i + 1;
  return endpoints[i];
}
