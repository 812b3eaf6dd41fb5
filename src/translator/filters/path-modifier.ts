// HTTPPathModifier (RequestRedirect.path, URLRewrite.path) → IRPathModifier, with the CRD's
// CEL rules, and the rule-level rule that ReplacePrefixMatch needs exactly one PathPrefix match.
import type { HTTPRouteMatch } from '../../api/index.ts';
import type { IRPathModifier } from '../../ir/index.ts';
import { invalid, isObject, unknownValue, type Invalid } from './invalid.ts';

const VALUE_FIELD = { ReplaceFullPath: 'replaceFullPath', ReplacePrefixMatch: 'replacePrefixMatch' } as const;

/**
 * The CRD only bounds the length (1024). A value also goes into a request line or a Location
 * header, so it must be empty or an absolute path of visible ASCII: no spaces, control
 * characters or relative paths, which would make a malformed request or redirect.
 */
const PATH_VALUE = /^(\/[!-~]*)?$/;

export function convertPathModifier(spec: unknown, field: string): IRPathModifier | Invalid {
  if (!isObject(spec)) return invalid(`${field}: must be an object`);
  const type = spec.type;
  if (typeof type !== 'string') return invalid(`${field}.type: is required (ReplaceFullPath or ReplacePrefixMatch)`);
  if (type !== 'ReplaceFullPath' && type !== 'ReplacePrefixMatch') {
    return unknownValue(`${field}.type: ${JSON.stringify(type)} is not a supported path modifier type (ReplaceFullPath, ReplacePrefixMatch)`);
  }
  for (const [t, key] of Object.entries(VALUE_FIELD)) {
    if (t !== type && spec[key] !== undefined) return invalid(`${field}.${key}: type must be '${t}' when ${key} is set`);
  }
  const key = VALUE_FIELD[type];
  const value = spec[key];
  if (typeof value !== 'string') return invalid(`${field}.${key}: must be specified when type is set to '${type}'`);
  if (value.length > 1024 || !PATH_VALUE.test(value)) {
    return invalid(`${field}.${key}: ${JSON.stringify(value)} must be an absolute path of at most 1024 visible ASCII characters`);
  }
  return { type, value };
}

/**
 * HTTPPathModifier.replacePrefixMatch: "only compatible with a `PathPrefix` HTTPRouteMatch"; the
 * rule's CEL asks for exactly one match, of type PathPrefix (no matches means the default one,
 * PathPrefix `/`; a match without path or type defaults to PathPrefix). The field says a
 * mismatch sets the route's Accepted to False; the PartiallyInvalid condition lets the invalid
 * rule be dropped instead, which Waygate does so that the route's other rules keep serving.
 */
export function prefixMatchProblem(matches: readonly HTTPRouteMatch[] | undefined): string | undefined {
  if (!Array.isArray(matches) || matches.length === 0) return undefined;
  if (matches.length > 1) return `ReplacePrefixMatch needs exactly one match, of type PathPrefix; the rule has ${matches.length}`;
  const type = matches[0]?.path?.type ?? 'PathPrefix';
  return type === 'PathPrefix' ? undefined : `ReplacePrefixMatch needs a PathPrefix match; the rule's match is of type ${JSON.stringify(type)}`;
}
