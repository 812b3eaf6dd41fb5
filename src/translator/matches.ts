// HTTPRouteMatch → IRMatch: defaults, validation and normalization of path, headers, query
// params and method. A problem names the field; it makes the whole rule invalid.
import type { HTTPHeaderMatch, HTTPQueryParamMatch, HTTPRouteMatch } from '../api/index.ts';
import type { IRMatch, IRStringMatchType } from '../ir/index.ts';
import { list } from './fields.ts';

const METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'];
const TOKEN_RE = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;
/** HTTPPathMatch validation rules for Exact and PathPrefix values. */
const FORBIDDEN_IN_PATH: readonly string[] = ['//', '/./', '/../', '%2f', '%2F', '#'];

export type MatchResult = { readonly match: IRMatch; readonly problem?: undefined } | { readonly problem: string };

export function convertMatch(match: HTTPRouteMatch | undefined, field: string): MatchResult {
  const path = convertPath(match?.path, `${field}.path`);
  if (typeof path === 'string') return { problem: path };
  const method = match?.method;
  if (method !== undefined && !METHODS.includes(method)) {
    return { problem: `${field}.method: ${JSON.stringify(method)} is not one of ${METHODS.join(', ')}` };
  }
  const headers = convertStringMatches(match?.headers, `${field}.headers`, (n) => n.toLowerCase());
  if (typeof headers === 'string') return { problem: headers };
  const queryParams = convertStringMatches(match?.queryParams, `${field}.queryParams`, (n) => n);
  if (typeof queryParams === 'string') return { problem: queryParams };
  return { match: { path, ...(method !== undefined ? { method } : {}), headers, queryParams } };
}

function convertPath(path: HTTPRouteMatch['path'], field: string): IRMatch['path'] | string {
  const type = path?.type ?? 'PathPrefix';
  const value = path?.value ?? '/';
  if (typeof value !== 'string') return `${field}.value must be a string`;
  if (type === 'RegularExpression') {
    const error = regexError(value);
    return error ? `${field}.value: invalid regular expression: ${error}` : { type, value };
  }
  if (type !== 'Exact' && type !== 'PathPrefix') return `${field}.type: ${JSON.stringify(type)} is not one of Exact, PathPrefix, RegularExpression`;
  if (!value.startsWith('/')) return `${field}.value: ${JSON.stringify(value)} must be an absolute path starting with '/'`;
  const bad = FORBIDDEN_IN_PATH.find((s) => value.includes(s)) ?? (value.endsWith('/..') || value.endsWith('/.') ? 'a trailing dot segment' : undefined);
  if (bad) return `${field}.value: ${JSON.stringify(value)} must not contain ${bad}`;
  return { type, value: type === 'PathPrefix' ? normalizePrefix(value) : value };
}

/** PathPrefix matches whole path segments and ignores a trailing `/`: `/abc/` is `/abc`. */
export function normalizePrefix(value: string): string {
  const trimmed = value.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

type StringMatch = HTTPHeaderMatch | HTTPQueryParamMatch;
type IRStringMatch = { readonly name: string; readonly type: IRStringMatchType; readonly value: string };

/** Header and query param matches; of entries with equivalent names only the first counts. */
function convertStringMatches(
  matches: readonly StringMatch[] | undefined, field: string, canonical: (name: string) => string,
): IRStringMatch[] | string {
  const out: IRStringMatch[] = [];
  for (const [i, m] of list(matches).entries()) {
    const at = `${field}[${i}]`;
    if (typeof m?.name !== 'string' || !TOKEN_RE.test(m.name)) return `${at}.name is required and must be a valid name`;
    const name = canonical(m.name);
    if (out.some((o) => o.name === name)) continue;
    if (typeof m.value !== 'string') return `${at}.value is required`;
    const type = m.type ?? 'Exact';
    if (type !== 'Exact' && type !== 'RegularExpression') return `${at}.type: ${JSON.stringify(type)} is not one of Exact, RegularExpression`;
    if (type === 'RegularExpression') {
      const error = regexError(m.value);
      if (error) return `${at}.value: invalid regular expression: ${error}`;
    }
    out.push({ name, type, value: m.value });
  }
  return out;
}

/** Regular expressions use the JavaScript dialect; compiling one is pure. */
function regexError(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (err) {
    // V8 messages repeat the pattern ("Invalid regular expression: /(/: Unterminated group"): keep the cause.
    const message = (err as Error).message;
    return message.slice(message.lastIndexOf(': ') + 2) || message;
  }
}
