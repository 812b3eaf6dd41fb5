// HTTPRoute rules → IR routes (one per rule and match), independent of any parent. A rule
// with an invalid match, filter, timeout, retry, session persistence or name is dropped as a
// whole (PartiallyInvalid); an unknown value the spec answers with Accepted=False
// (UnsupportedValue) makes the whole route not accepted.
import type { HTTPBackendRef, HTTPRoute, HTTPRouteRule } from '../api/index.ts';
import { routeMatchName, type IRAction, type IRFilters, type IRRoute, type IRRouteRetry, type IRTimeouts } from '../ir/index.ts';
import { RouteReason, type Problem } from './conditions.ts';
import { namespaceOf, type TranslationContext } from './context.ts';
import { buildRuleAction, resolveBackendRef, type ResolvedBackendRef, type ResolvedServicePort, type ServicePortRef } from './backends.ts';
import { convertFilters, type ConvertedFilters } from './filters/filter-list.ts';
import { invalid, isInvalid, type Invalid } from './filters/invalid.ts';
import { isValidHostname } from './hostnames.ts';
import { convertMatch } from './matches.ts';
import { convertRetry } from './route-retry.ts';
import { convertTimeouts } from './route-timeouts.ts';
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
  /** The first reference that cannot be resolved (ResolvedRefs=False). */
  readonly refProblem?: Problem;
  /** Backends the valid rules forward or mirror to, by IR name. */
  readonly backends: ReadonlyMap<string, ServicePortRef>;
}

/** HTTPRoute.spec.rules default: one rule matching PathPrefix `/`. */
const DEFAULT_RULES: readonly HTTPRouteRule[] = [{}];
/** Status for requests an unresolved ExtensionRef filter would have processed. */
const UNRESOLVED_FILTER_STATUS = 500;

export function translateRouteRules(ctx: TranslationContext, route: HTTPRoute): RouteTranslation {
  const hostnames = list(route.spec?.hostnames);
  const badHost = hostnames.findIndex((h) => !isValidHostname(h));
  const backends = new Map<string, ServicePortRef>();
  const rules: TranslatedRule[] = [];
  const invalidRules: string[] = [];
  let refProblem: Problem | undefined;
  let unsupported: string | undefined;
  const specRules = Array.isArray(route.spec?.rules) && route.spec.rules.length > 0 ? route.spec.rules : DEFAULT_RULES;
  const names = ruleNames(specRules);
  for (const [ruleIndex, rule] of specRules.entries()) {
    const result = translateRule(ctx, route, rule ?? {}, ruleIndex, names[ruleIndex]);
    refProblem ??= result.refProblem;
    if (result.problem === undefined) {
      rules.push({ ruleIndex, routes: result.routes });
      for (const b of result.backends) backends.set(b.irName, b);
      continue;
    }
    const message = names[ruleIndex].name !== undefined ? `rule ${JSON.stringify(names[ruleIndex].name)}: ${result.problem}` : result.problem;
    invalidRules.push(message);
    if (result.unknownValue) unsupported ??= message;
  }
  const routeProblem: Problem | undefined = badHost >= 0
    ? { reason: RouteReason.UnsupportedValue, message: `spec.hostnames[${badHost}]: ${JSON.stringify(hostnames[badHost])} is not a valid hostname` }
    : unsupported !== undefined ? { reason: RouteReason.UnsupportedValue, message: unsupported }
    : rules.length === 0 ? { reason: RouteReason.UnsupportedValue, message: `All rules are invalid: ${invalidRules.join('; ')}` } : undefined;
  return { hostnames: badHost >= 0 ? [] : hostnames, rules, invalidRules, routeProblem, refProblem, backends };
}

/** HTTPRouteRule.name: a DNS subdomain (RFC 1123), at most 253 characters. */
const RULE_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

interface RuleName {
  /** The rule's name when it is valid: it names the rule in messages. */
  readonly name?: string;
  readonly problem?: string;
}

/**
 * Each rule's name, checked: "This name MUST be unique within a Route if it is set". Of rules
 * with the same name the first keeps it and the later ones are invalid.
 */
function ruleNames(rules: readonly HTTPRouteRule[]): RuleName[] {
  const seen = new Set<string>();
  return rules.map((rule, i) => {
    const name: unknown = rule?.name;
    if (name === undefined || name === null) return {};
    if (typeof name !== 'string' || name.length > 253 || !RULE_NAME.test(name)) {
      return { problem: `spec.rules[${i}].name: ${JSON.stringify(name)} must be a lower-case DNS subdomain (RFC 1123) of at most 253 characters` };
    }
    if (seen.has(name)) return { problem: `spec.rules[${i}].name: ${JSON.stringify(name)} is already the name of an earlier rule; rule names must be unique within a route` };
    seen.add(name);
    return { name };
  });
}

interface RuleResult {
  readonly routes: { matchIndex: number; ir: IRRoute }[];
  readonly backends: readonly ResolvedServicePort[];
  readonly problem?: string;
  /** The problem is an unknown value: the route is not accepted. */
  readonly unknownValue?: boolean;
  readonly refProblem?: Problem;
}

function translateRule(ctx: TranslationContext, route: HTTPRoute, rule: HTTPRouteRule, ruleIndex: number, name: RuleName): RuleResult {
  const field = `spec.rules[${ruleIndex}]`;
  const specRefs = list(rule.backendRefs);
  const refs = specRefs.map((ref, i) => resolveBackendRef(ctx, route, ref, `${field}.backendRefs[${i}]`));
  const firstRefProblem = refs.find((r) => r.problem)?.problem;
  const parts = name.problem !== undefined ? invalid(name.problem) : convertRuleParts(ctx, route, rule, ruleIndex, refs);
  if (isInvalid(parts)) return { routes: [], backends: [], problem: parts.invalid, unknownValue: parts.unknownValue, refProblem: firstRefProblem };
  const routes: { matchIndex: number; ir: IRRoute }[] = [];
  const matches = Array.isArray(rule.matches) && rule.matches.length > 0 ? rule.matches : [undefined];
  for (const [matchIndex, m] of matches.entries()) {
    const converted = convertMatch(m, `${field}.matches[${matchIndex}]`);
    if (converted.problem !== undefined) return { routes: [], backends: [], problem: converted.problem, refProblem: firstRefProblem };
    routes.push({ matchIndex, ir: irRoute(route, ruleIndex, matchIndex, converted.match, parts) });
  }
  return { routes, backends: parts.backends, refProblem: firstRefProblem ?? parts.refProblem };
}

/** What every IR route of a rule shares. */
interface RuleParts {
  readonly action: IRAction;
  readonly filters?: IRFilters;
  readonly timeouts?: IRTimeouts;
  readonly retry?: IRRouteRetry;
  /** The Services the rule forwards or mirrors to. */
  readonly backends: readonly ResolvedServicePort[];
  /** The first filter reference that cannot be resolved. */
  readonly refProblem?: Problem;
}

function convertRuleParts(
  ctx: TranslationContext, route: HTTPRoute, rule: HTTPRouteRule, ruleIndex: number, resolved: readonly ResolvedBackendRef[],
): RuleParts | Invalid {
  const field = `spec.rules[${ruleIndex}]`;
  const weight = weightProblem(rule, field);
  if (weight) return invalid(weight);
  const ruleFilters = convertFilters(ctx, route, rule.filters, { field, level: 'rule', matches: rule.matches });
  if (isInvalid(ruleFilters)) return ruleFilters;
  if (ruleFilters.redirect && resolved.length > 0) return invalid(`${field}.filters: a RequestRedirect filter must not be used together with backendRefs`);
  const refs = withRefFilters(ctx, route, rule, field, resolved);
  if (isInvalid(refs)) return refs;
  const settings = convertSettings(route, rule, ruleIndex, field);
  if (isInvalid(settings)) return settings;
  const action = ruleAction(ruleFilters, refs.refs, settings.session);
  const unresolved = ruleFilters.unresolved !== undefined;
  return {
    action,
    ...(ruleFilters.filters && !unresolved ? { filters: ruleFilters.filters } : {}),
    ...(settings.timeouts ? { timeouts: settings.timeouts } : {}),
    ...(settings.retry && action.type === 'Forward' ? { retry: settings.retry } : {}),
    backends: unresolved ? [] : [...refs.backends, ...ruleFilters.backends],
    refProblem: ruleFilters.unresolved ?? ruleFilters.refProblem ?? refs.refProblem,
  };
}

/**
 * The action: a 500 when a rule filter is an unresolved ExtensionRef (every request passes
 * through it), the redirect of a RequestRedirect filter, else forwarding to the backendRefs.
 */
function ruleAction(filters: ConvertedFilters, refs: readonly ResolvedBackendRef[], session: ReturnType<typeof convertSessionPersistence>): IRAction {
  if (filters.unresolved) return { type: 'DirectResponse', status: UNRESOLVED_FILTER_STATUS };
  if (filters.redirect) return filters.redirect;
  const forward = buildRuleAction(refs);
  return session && typeof session !== 'string' && forward.type === 'Forward' ? { ...forward, sessionPersistence: session } : forward;
}

/**
 * Each backendRef with its own filters (HTTPBackendRef.filters). An unresolved ExtensionRef
 * there turns that backendRef's share into a 500, like an invalid backendRef.
 */
function withRefFilters(
  ctx: TranslationContext, route: HTTPRoute, rule: HTTPRouteRule, field: string, resolved: readonly ResolvedBackendRef[],
): { refs: ResolvedBackendRef[]; backends: ResolvedServicePort[]; refProblem?: Problem } | Invalid {
  const refs: ResolvedBackendRef[] = [];
  const backends: ResolvedServicePort[] = [];
  let refProblem: Problem | undefined;
  for (const [i, ref] of resolved.entries()) {
    const spec: HTTPBackendRef | undefined = list(rule.backendRefs)[i];
    const converted = convertFilters(ctx, route, spec?.filters, { field: `${field}.backendRefs[${i}]`, level: 'backendRef', matches: rule.matches });
    if (isInvalid(converted)) return converted;
    refProblem ??= converted.unresolved ?? converted.refProblem;
    const live = ref.backend !== undefined && ref.weight > 0;
    if (!live || converted.unresolved) {
      refs.push(converted.unresolved ? { weight: ref.weight, problem: converted.unresolved } : ref);
      continue;
    }
    refs.push(converted.filters ? { ...ref, filters: converted.filters } : ref);
    backends.push(ref.backend!, ...converted.backends);
  }
  return { refs, backends, ...(refProblem ? { refProblem } : {}) };
}

interface RuleSettings {
  readonly timeouts?: IRTimeouts;
  readonly retry?: IRRouteRetry;
  readonly session: ReturnType<typeof convertSessionPersistence>;
}

function convertSettings(route: HTTPRoute, rule: HTTPRouteRule, ruleIndex: number, field: string): RuleSettings | Invalid {
  const timeouts = convertTimeouts(rule, field);
  if (typeof timeouts === 'string') return invalid(timeouts);
  const retry = convertRetry(rule, field);
  if (typeof retry === 'string') return invalid(retry);
  const session = convertSessionPersistence(route, rule, ruleIndex, field);
  if (typeof session === 'string') return invalid(session);
  return { timeouts, retry, session };
}

function irRoute(route: HTTPRoute, ruleIndex: number, matchIndex: number, match: IRRoute['match'], parts: RuleParts): IRRoute {
  const name = routeMatchName('HTTPRoute', namespaceOf(route), route.metadata.name, ruleIndex, matchIndex);
  return {
    name, match, action: parts.action,
    ...(parts.timeouts ? { timeouts: parts.timeouts } : {}),
    ...(parts.filters ? { filters: parts.filters } : {}),
    ...(parts.retry ? { retry: parts.retry } : {}),
  };
}

function weightProblem(rule: HTTPRouteRule, field: string): string | undefined {
  const i = list(rule.backendRefs).findIndex((r) => r?.weight !== undefined && !(Number.isInteger(r.weight) && r.weight >= 0 && r.weight <= 1_000_000));
  return i >= 0 ? `${field}.backendRefs[${i}].weight must be an integer from 0 to 1000000` : undefined;
}
