// HTTPRoute rules → IR routes (one per rule and match), independent of any parent. A rule
// with an invalid match, timeout, session persistence or an unsupported filter is dropped as a
// whole.
import type { HTTPRoute, HTTPRouteRule } from '../api/index.ts';
import { routeMatchName, type IRAction, type IRRoute, type IRTimeouts } from '../ir/index.ts';
import { parseDuration } from '../util/index.ts';
import { RouteReason, type Problem } from './conditions.ts';
import { namespaceOf, type TranslationContext } from './context.ts';
import { buildRuleAction, resolveBackendRef, type ServicePortRef } from './backends.ts';
import { isValidHostname } from './hostnames.ts';
import { convertMatch } from './matches.ts';
import { convertSessionPersistence } from './session-persistence.ts';
import { list } from './fields.ts';

export interface TranslatedRule {
  readonly ruleIndex: number;
  readonly routes: readonly { readonly matchIndex: number; readonly ir: IRRoute }[];
}

export interface RouteTranslation {
  /** Valid route hostnames (`spec.hostnames`). */
  readonly hostnames: readonly string[];
  readonly rules: readonly TranslatedRule[];
  /** Messages for dropped rules (PartiallyInvalid / UnsupportedValue). */
  readonly invalidRules: readonly string[];
  /** Accepted=False for the whole route, whatever its parents. */
  readonly routeProblem?: Problem;
  /** The first invalid backendRef (ResolvedRefs=False). */
  readonly refProblem?: Problem;
  /** Backends the valid rules forward to, by IR name. */
  readonly backends: ReadonlyMap<string, ServicePortRef>;
}

/** HTTPRoute.spec.rules default: one rule matching PathPrefix `/`. */
const DEFAULT_RULES: readonly HTTPRouteRule[] = [{}];

export function translateRouteRules(ctx: TranslationContext, route: HTTPRoute): RouteTranslation {
  const hostnames = list(route.spec?.hostnames);
  const badHost = hostnames.findIndex((h) => !isValidHostname(h));
  const backends = new Map<string, ServicePortRef>();
  const rules: TranslatedRule[] = [];
  const invalidRules: string[] = [];
  let refProblem: Problem | undefined;
  const specRules = Array.isArray(route.spec?.rules) && route.spec.rules.length > 0 ? route.spec.rules : DEFAULT_RULES;
  for (const [ruleIndex, rule] of specRules.entries()) {
    const result = translateRule(ctx, route, rule ?? {}, ruleIndex, backends);
    refProblem ??= result.refProblem;
    if (result.problem) invalidRules.push(result.problem);
    else rules.push({ ruleIndex, routes: result.routes });
  }
  const routeProblem: Problem | undefined = badHost >= 0
    ? { reason: RouteReason.UnsupportedValue, message: `spec.hostnames[${badHost}]: ${JSON.stringify(hostnames[badHost])} is not a valid hostname` }
    : rules.length === 0 ? { reason: RouteReason.UnsupportedValue, message: `All rules are invalid: ${invalidRules.join('; ')}` } : undefined;
  return { hostnames: badHost >= 0 ? [] : hostnames, rules, invalidRules, routeProblem, refProblem, backends };
}

interface RuleResult {
  readonly routes: { matchIndex: number; ir: IRRoute }[];
  readonly problem?: string;
  readonly refProblem?: Problem;
}

function translateRule(
  ctx: TranslationContext, route: HTTPRoute, rule: HTTPRouteRule, ruleIndex: number, backends: Map<string, ServicePortRef>,
): RuleResult {
  const field = `spec.rules[${ruleIndex}]`;
  const refs = list(rule.backendRefs).map((ref, i) => resolveBackendRef(ctx, route, ref, `${field}.backendRefs[${i}]`));
  const refProblem = refs.find((r) => r.problem)?.problem;
  const problem = unsupportedFilters(rule, field) ?? weightProblem(rule, field);
  const timeouts = convertTimeouts(rule, field);
  if (problem || typeof timeouts === 'string') return { routes: [], problem: problem ?? (timeouts as string), refProblem };
  const session = convertSessionPersistence(route, rule, ruleIndex, field);
  if (typeof session === 'string') return { routes: [], problem: session, refProblem };
  const forward = buildRuleAction(refs);
  const action: IRAction = session && forward.type === 'Forward' ? { ...forward, sessionPersistence: session } : forward;
  const routes: { matchIndex: number; ir: IRRoute }[] = [];
  const matches = Array.isArray(rule.matches) && rule.matches.length > 0 ? rule.matches : [undefined];
  for (const [matchIndex, m] of matches.entries()) {
    const converted = convertMatch(m, `${field}.matches[${matchIndex}]`);
    if (converted.problem !== undefined) return { routes: [], problem: converted.problem, refProblem };
    routes.push({ matchIndex, ir: irRoute(route, ruleIndex, matchIndex, converted.match, action, timeouts) });
  }
  for (const r of refs) if (r.backend && r.weight > 0) backends.set(r.backend.irName, r.backend);
  return { routes, refProblem };
}

function irRoute(route: HTTPRoute, ruleIndex: number, matchIndex: number, match: IRRoute['match'], action: IRAction, timeouts: IRTimeouts | undefined): IRRoute {
  const name = routeMatchName('HTTPRoute', namespaceOf(route), route.metadata.name, ruleIndex, matchIndex);
  return timeouts ? { name, match, action, timeouts } : { name, match, action };
}

/** Filters are not implemented yet: a rule using one is dropped rather than served wrongly. */
function unsupportedFilters(rule: HTTPRouteRule, field: string): string | undefined {
  if (list(rule.filters).length > 0) return `${field}.filters: filters are not supported yet`;
  const i = list(rule.backendRefs).findIndex((r) => list(r?.filters).length > 0);
  return i >= 0 ? `${field}.backendRefs[${i}].filters: filters are not supported yet` : undefined;
}

function weightProblem(rule: HTTPRouteRule, field: string): string | undefined {
  const i = list(rule.backendRefs).findIndex((r) => r?.weight !== undefined && !(Number.isInteger(r.weight) && r.weight >= 0 && r.weight <= 1_000_000));
  return i >= 0 ? `${field}.backendRefs[${i}].weight must be an integer from 0 to 1000000` : undefined;
}

/** HTTPRouteRule.timeouts (GEP-2257 durations); backendRequest must not exceed request. */
function convertTimeouts(rule: HTTPRouteRule, field: string): IRTimeouts | undefined | string {
  const t = rule.timeouts;
  if (!t) return undefined;
  const out: { requestMs?: number; backendRequestMs?: number } = {};
  for (const key of ['request', 'backendRequest'] as const) {
    if (t[key] === undefined) continue;
    const ms = typeof t[key] === 'string' ? parseDuration(t[key]) : undefined;
    if (ms === undefined) return `${field}.timeouts.${key}: ${JSON.stringify(t[key])} is not a valid duration`;
    out[key === 'request' ? 'requestMs' : 'backendRequestMs'] = ms;
  }
  if (out.requestMs && out.backendRequestMs !== undefined && (out.backendRequestMs === 0 || out.backendRequestMs > out.requestMs)) {
    return `${field}.timeouts.backendRequest must not exceed timeouts.request`;
  }
  return out;
}
