// HTTPRequestMirrorFilter → IRMirror. The backendRef is resolved like any backendRef (Service,
// port, ReferenceGrant); one that cannot be resolved makes ResolvedRefs False and its mirror
// is left out ("not configure this backend"), while the rule itself stays.
import type { BackendObjectReference, HTTPRoute } from '../../api/index.ts';
import type { IRMirror } from '../../ir/index.ts';
import { resolveServiceRef, type ResolvedServicePort } from '../backends.ts';
import type { Problem } from '../conditions.ts';
import type { TranslationContext } from '../context.ts';
import { INT32_MAX, invalid, isIntegerIn, isInvalid, isObject, type Invalid } from './invalid.ts';

export type ConvertedMirror =
  | { readonly mirror: IRMirror; readonly backend: ResolvedServicePort }
  /** Nothing to mirror: a share of 0, or a backendRef that cannot be resolved (`problem`). */
  | { readonly mirror?: undefined; readonly problem?: Problem };

export function convertMirror(ctx: TranslationContext, route: HTTPRoute, spec: unknown, field: string): ConvertedMirror | Invalid {
  if (!isObject(spec)) return invalid(`${field}: must be an object`);
  if (!isObject(spec.backendRef)) return invalid(`${field}.backendRef: is required`);
  const share = convertShare(spec, field);
  if (isInvalid(share)) return share;
  const resolved = resolveServiceRef(ctx, route, spec.backendRef as unknown as BackendObjectReference, `${field}.backendRef`);
  if (resolved.problem) return { problem: resolved.problem };
  // A share of 0 never mirrors: leaving it out keeps its Service out of the IR.
  if (share.numerator === 0) return {};
  return { mirror: { backend: resolved.backend.irName, ...share }, backend: resolved.backend };
}

/** `percent` or `fraction` (not both; neither means every request); fraction.denominator defaults to 100. */
function convertShare(spec: Record<string, unknown>, field: string): { numerator: number; denominator: number } | Invalid {
  const { percent, fraction } = spec;
  if (percent !== undefined && fraction !== undefined) return invalid(`${field}: only one of percent or fraction may be specified`);
  if (percent !== undefined) {
    return isIntegerIn(percent, 0, 100) ? { numerator: percent, denominator: 100 } : invalid(`${field}.percent: ${JSON.stringify(percent)} must be an integer from 0 to 100`);
  }
  if (fraction === undefined) return { numerator: 100, denominator: 100 };
  if (!isObject(fraction)) return invalid(`${field}.fraction: must be an object`);
  const denominator = fraction.denominator ?? 100;
  if (!isIntegerIn(fraction.numerator, 0, INT32_MAX)) return invalid(`${field}.fraction.numerator: ${JSON.stringify(fraction.numerator)} must be an integer, at least 0`);
  if (!isIntegerIn(denominator, 1, INT32_MAX)) return invalid(`${field}.fraction.denominator: ${JSON.stringify(denominator)} must be an integer, at least 1`);
  if (fraction.numerator > denominator) return invalid(`${field}.fraction: numerator must be less than or equal to denominator`);
  return { numerator: fraction.numerator, denominator };
}
