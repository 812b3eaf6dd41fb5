// HTTPCORSFilter → IRCors, with the CRD's patterns and CEL rules. Origins keep their `*`
// wildcards (the data plane matches them); maxAge defaults to 5 seconds.
import type { IRCors } from '../../ir/index.ts';
import { INT32_MAX, invalid, isHeaderName, isIntegerIn, isInvalid, isObject, listField, type Invalid } from './invalid.ts';

/** CORSOrigin: `*`, or `http(s)://host[:port]` where the host may start with `*.` or be `*`. */
const ORIGIN = /(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+|\*)(:([0-9]{1,5}))?)$)/;
const METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', '*'];
const DEFAULT_MAX_AGE_SECONDS = 5;

export function convertCors(spec: unknown, field: string): IRCors | Invalid {
  if (!isObject(spec)) return invalid(`${field}: must be an object`);
  const allowOrigins = stringList(spec.allowOrigins, 64, `${field}.allowOrigins`, isOrigin, 'is not an origin of the form http(s)://host[:port] or *');
  if (isInvalid(allowOrigins)) return allowOrigins;
  const allowMethods = stringList(spec.allowMethods, 9, `${field}.allowMethods`, (m) => METHODS.includes(m), `is not one of ${METHODS.join(', ')}`);
  if (isInvalid(allowMethods)) return allowMethods;
  const allowHeaders = stringList(spec.allowHeaders, 64, `${field}.allowHeaders`, isHeaderName, 'is not a valid HTTP header name');
  if (isInvalid(allowHeaders)) return allowHeaders;
  const exposeHeaders = stringList(spec.exposeHeaders, 64, `${field}.exposeHeaders`, isHeaderName, 'is not a valid HTTP header name');
  if (isInvalid(exposeHeaders)) return exposeHeaders;
  // AllowOrigins, AllowMethods and AllowHeaders: "cannot contain '*' alongside other" values.
  for (const [name, values] of [['allowOrigins', allowOrigins], ['allowMethods', allowMethods], ['allowHeaders', allowHeaders]] as const) {
    if (values.includes('*') && values.length > 1) return invalid(`${field}.${name}: '*' cannot be listed alongside other values`);
  }
  const { allowCredentials } = spec;
  if (allowCredentials !== undefined && typeof allowCredentials !== 'boolean') return invalid(`${field}.allowCredentials: must be true or false`);
  const maxAge = spec.maxAge ?? DEFAULT_MAX_AGE_SECONDS;
  if (!isIntegerIn(maxAge, 1, INT32_MAX)) return invalid(`${field}.maxAge: ${JSON.stringify(maxAge)} must be a whole number of seconds, at least 1`);
  return { allowOrigins, allowCredentials: allowCredentials ?? false, allowMethods, allowHeaders, exposeHeaders, maxAgeSeconds: maxAge };
}

function isOrigin(value: string): boolean {
  if (value.length > 253 || !ORIGIN.test(value)) return false;
  const port = /:([0-9]+)$/.exec(value)?.[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
}

/** A list of strings that each pass `valid`, without repeats (the first of equal values kept). */
function stringList(v: unknown, max: number, field: string, valid: (s: string) => boolean, why: string): string[] | Invalid {
  const items = listField(v, max, field);
  if (isInvalid(items)) return items;
  const out: string[] = [];
  for (const [i, item] of (items ?? []).entries()) {
    if (typeof item !== 'string' || item === '' || !valid(item)) return invalid(`${field}[${i}]: ${JSON.stringify(item)} ${why}`);
    if (!out.includes(item)) out.push(item);
  }
  return out;
}
