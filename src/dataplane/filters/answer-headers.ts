// The headers of every answer of a route with extras: the backend's, or Waygate's own
// (redirect, direct response, preflight). CORS first, then the rule's ResponseHeaderModifier,
// then the backendRef's, so a user's modifier has the last word.
import type { CompiledFilters } from '../../compiler/index.ts';
import type { ChoiceState } from '../balancer.ts';
import { addActualCorsHeaders } from './cors.ts';
import { modifyHeaders } from './header-modifier.ts';
import type { RouteExtras } from './route-extras.ts';

/** What answerHeaders reads from the request's exchange. */
export interface AnswerContext {
  readonly extras: RouteExtras | undefined;
  readonly choice: ChoiceState | undefined;
  readonly origin: string | undefined;
}

/** `withCors` false: the answer is a preflight, whose CORS headers are already in `out`. */
export function answerHeaders(ex: AnswerContext, out: string[], withCors = true): string[] {
  const rule = ex.extras!.filters;
  if (!withCors) return modifyResponse(out, rule);
  // A backendRef's CORS filter can only mark actual answers: a preflight is answered before
  // any backendRef is chosen, by the rule's filter alone.
  const cors = rule?.cors ?? ex.choice?.filters?.cors;
  let headers = out;
  if (cors !== undefined) {
    // Vary: Origin on answers without an Origin too, so a cache never hands one to a browser's
    // cross-origin request.
    if (ex.origin !== undefined) headers = addActualCorsHeaders(cors, ex.origin, headers);
    else headers.push('vary', 'Origin');
  }
  return modifyResponse(modifyResponse(headers, rule), ex.choice?.filters);
}

/** The ResponseHeaderModifier of `filters`, if any. */
function modifyResponse(headers: string[], filters: CompiledFilters | undefined): string[] {
  if (filters === undefined || filters.responseHeaders === undefined) return headers;
  return modifyHeaders(headers, filters.responseHeaders);
}
