// HTTPRouteRule.filters and HTTPBackendRef.filters → IRFilters (plus the Redirect action and
// what an ExtensionRef makes of the rule). The list's CEL rules are checked here: the config
// field matching `type` and no other, each filter type at most once except RequestMirror and
// ExtensionRef, RequestRedirect and URLRewrite not together. "Wherever possible,
// implementations SHOULD implement filters in the order they are specified": the IR applies
// them in one fixed order (src/ir/types.ts IRFilters) and, since every type but RequestMirror
// and ExtensionRef appears once, Waygate documents that order instead of rejecting others.
import type { HTTPRoute, HTTPRouteMatch } from '../../api/index.ts';
import type { IRCors, IRFilters, IRHeaderModifier, IRMirror, IRRedirectAction, IRUrlRewrite } from '../../ir/index.ts';
import type { ResolvedServicePort } from '../backends.ts';
import { RouteReason, type Problem } from '../conditions.ts';
import type { TranslationContext } from '../context.ts';
import { convertCors } from './cors.ts';
import { convertHeaderModifier } from './header-modifier.ts';
import { invalid, isInvalid, isObject, listField, unknownValue, type Invalid } from './invalid.ts';
import { convertMirror } from './mirror.ts';
import { prefixMatchProblem } from './path-modifier.ts';
import { convertRedirect } from './redirect.ts';
import { convertUrlRewrite } from './url-rewrite.ts';

/** Each filter type and its config field (HTTPRouteFilter). */
const CONFIG_FIELD: Readonly<Record<string, string>> = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  ExtensionRef: 'extensionRef',
  CORS: 'cors',
  ExternalAuth: 'externalAuth',
};
/** "Specifying the same filter multiple times is not supported unless explicitly indicated in the filter." */
const REPEATABLE: readonly string[] = ['RequestMirror', 'ExtensionRef'];

export interface FilterScope {
  /** `spec.rules[i]` or `spec.rules[i].backendRefs[j]`. */
  readonly field: string;
  readonly level: 'rule' | 'backendRef';
  /** The rule's matches: ReplacePrefixMatch needs exactly one PathPrefix match. */
  readonly matches: readonly HTTPRouteMatch[] | undefined;
}

export interface ConvertedFilters {
  readonly filters?: IRFilters;
  readonly redirect?: IRRedirectAction;
  /** An ExtensionRef: Waygate resolves none, so requests it would process get a 500. */
  readonly unresolved?: Problem;
  /** The first RequestMirror left out because its backendRef cannot be resolved. */
  readonly refProblem?: Problem;
  /** The Services mirrored to. */
  readonly backends: readonly ResolvedServicePort[];
}

export function convertFilters(ctx: TranslationContext, route: HTTPRoute, value: unknown, scope: FilterScope): ConvertedFilters | Invalid {
  const field = `${scope.field}.filters`;
  const items = listField(value, 16, field);
  if (isInvalid(items)) return items;
  if (items === undefined || items.length === 0) return { backends: [] };
  const types = checkTypes(items, field);
  if (isInvalid(types)) return types;
  const combination = combinationProblem(types, scope);
  if (combination !== undefined) return invalid(`${field}: ${combination}`);
  const acc = new FilterAccumulator();
  for (const [i, filter] of items.entries()) {
    const problem = acc.add(ctx, route, types[i], (filter as Record<string, unknown>)[CONFIG_FIELD[types[i]]], `${field}[${i}]`, scope);
    if (problem) return problem;
  }
  return acc.result();
}

/** Each filter's type, after the per-filter CEL rules (its config field set, no other). */
function checkTypes(items: readonly unknown[], field: string): string[] | Invalid {
  const types: string[] = [];
  for (const [i, filter] of items.entries()) {
    const at = `${field}[${i}]`;
    if (!isObject(filter) || typeof filter.type !== 'string') return invalid(`${at}.type: is required`);
    const type = filter.type;
    const own = CONFIG_FIELD[type];
    if (own === undefined) return unknownValue(`${at}.type: ${JSON.stringify(type)} is not a supported filter type`);
    if (type === 'ExternalAuth') return invalid(`${at}.type: ExternalAuth filters are not supported`);
    const stray = Object.entries(CONFIG_FIELD).find(([t, key]) => t !== type && filter[key] !== undefined && filter[key] !== null);
    if (stray) return invalid(`${at}.${stray[1]}: must not be set when type is ${type}`);
    if (filter[own] === undefined || filter[own] === null) return invalid(`${at}.${own}: must be specified for type ${type}`);
    types.push(type);
  }
  return types;
}

function combinationProblem(types: readonly string[], scope: FilterScope): string | undefined {
  const repeated = types.find((t, i) => !REPEATABLE.includes(t) && types.indexOf(t) !== i);
  if (repeated) return `the ${repeated} filter cannot be repeated`;
  if (types.includes('RequestRedirect') && types.includes('URLRewrite')) return 'RequestRedirect and URLRewrite filters cannot be used together';
  // Filters of a backendRef change what is forwarded to it; a redirect forwards nothing.
  if (scope.level === 'backendRef' && types.includes('RequestRedirect')) return 'a RequestRedirect filter is not supported in a backendRef; set it on the rule';
  return undefined;
}

/** Builds the IR filters one HTTPRouteFilter at a time. */
class FilterAccumulator {
  requestHeaders?: IRHeaderModifier;
  responseHeaders?: IRHeaderModifier;
  urlRewrite?: IRUrlRewrite;
  cors?: IRCors;
  redirect?: IRRedirectAction;
  unresolved?: Problem;
  refProblem?: Problem;
  readonly mirrors: IRMirror[] = [];
  readonly backends: ResolvedServicePort[] = [];

  add(ctx: TranslationContext, route: HTTPRoute, type: string, spec: unknown, field: string, scope: FilterScope): Invalid | undefined {
    const at = `${field}.${CONFIG_FIELD[type]}`;
    switch (type) {
      case 'RequestHeaderModifier': return this.#set('requestHeaders', convertHeaderModifier(spec, at));
      case 'ResponseHeaderModifier': return this.#set('responseHeaders', convertHeaderModifier(spec, at));
      case 'CORS': return this.#set('cors', convertCors(spec, at));
      case 'URLRewrite': return this.#set('urlRewrite', withPrefixMatchCheck(convertUrlRewrite(spec, at), at, scope));
      case 'RequestRedirect': return this.#set('redirect', withPrefixMatchCheck(convertRedirect(spec, at), at, scope));
      case 'RequestMirror': return this.#addMirror(ctx, route, spec, at);
      default: return this.#addExtensionRef(spec, at);
    }
  }

  #set<K extends 'requestHeaders' | 'responseHeaders' | 'cors' | 'urlRewrite' | 'redirect'>(key: K, value: this[K] | Invalid): Invalid | undefined {
    if (isInvalid(value)) return value;
    this[key] = value;
    return undefined;
  }

  #addMirror(ctx: TranslationContext, route: HTTPRoute, spec: unknown, field: string): Invalid | undefined {
    const converted = convertMirror(ctx, route, spec, field);
    if (isInvalid(converted)) return converted;
    if (converted.mirror) {
      this.mirrors.push(converted.mirror);
      this.backends.push(converted.backend);
    } else if (converted.problem) {
      this.refProblem ??= converted.problem;
    }
    return undefined;
  }

  /**
   * HTTPRouteFilter.type: "If a reference to a custom filter type cannot be resolved, the filter
   * MUST NOT be skipped. Instead, requests that would have been processed by that filter MUST
   * receive a HTTP error response." Waygate has no extension filter kinds, so no reference
   * resolves: ResolvedRefs is False with InvalidKind ("an unknown or unsupported Group and/or Kind").
   */
  #addExtensionRef(spec: unknown, field: string): Invalid | undefined {
    if (!isObject(spec)) return invalid(`${field}: must be an object`);
    const { group, kind, name } = spec;
    if (typeof group !== 'string') return invalid(`${field}.group: is required (empty for the core group)`);
    if (typeof kind !== 'string' || kind === '') return invalid(`${field}.kind: is required`);
    if (typeof name !== 'string' || name === '') return invalid(`${field}.name: is required`);
    this.unresolved ??= {
      reason: RouteReason.InvalidKind,
      message: `${field}: ${group === '' ? 'core' : group}/${kind} ${JSON.stringify(name)} is not a filter kind Waygate supports; requests it would process get a 500`,
    };
    return undefined;
  }

  result(): ConvertedFilters {
    const filters: IRFilters = {
      ...(this.requestHeaders ? { requestHeaders: this.requestHeaders } : {}),
      ...(this.responseHeaders ? { responseHeaders: this.responseHeaders } : {}),
      ...(this.urlRewrite ? { urlRewrite: this.urlRewrite } : {}),
      ...(this.mirrors.length > 0 ? { mirrors: this.mirrors } : {}),
      ...(this.cors ? { cors: this.cors } : {}),
    };
    return {
      ...(Object.keys(filters).length > 0 ? { filters } : {}),
      ...(this.redirect ? { redirect: this.redirect } : {}),
      ...(this.unresolved ? { unresolved: this.unresolved } : {}),
      ...(this.refProblem ? { refProblem: this.refProblem } : {}),
      backends: this.backends,
    };
  }
}

/** A path modifier of type ReplacePrefixMatch: the rule must have exactly one PathPrefix match. */
function withPrefixMatchCheck<T extends { readonly path?: { readonly type: string } }>(value: T | Invalid, field: string, scope: FilterScope): T | Invalid {
  if (isInvalid(value) || value.path?.type !== 'ReplacePrefixMatch') return value;
  const problem = prefixMatchProblem(scope.matches);
  return problem === undefined ? value : invalid(`${field}.path: ${problem}`);
}
