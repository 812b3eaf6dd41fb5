// EndpointSlice conditions of an IR endpoint, with their defaults in one place.
import type { IREndpoint } from './types.ts';

export function endpointServing(e: IREndpoint): boolean {
  return e.serving !== false;
}

export function endpointTerminating(e: IREndpoint): boolean {
  return e.terminating === true;
}

export function endpointReady(e: IREndpoint): boolean {
  return e.ready ?? (endpointServing(e) && !endpointTerminating(e));
}

/**
 * Whether some tier can use the endpoint (architecture rule 3): ready, or serving and
 * terminating. An endpoint that is neither never reaches the IR.
 */
export function endpointUsable(e: IREndpoint): boolean {
  return endpointReady(e) || (endpointServing(e) && endpointTerminating(e));
}

/** The conditions that differ from their defaults, as the IR writes them. */
export function endpointConditions(ready: boolean, serving: boolean, terminating: boolean): Pick<IREndpoint, 'ready' | 'serving' | 'terminating'> {
  return {
    ...(ready !== (serving && !terminating) ? { ready } : {}),
    ...(serving ? {} : { serving }),
    ...(terminating ? { terminating } : {}),
  };
}
