// HTTPRequestRedirectFilter → IRRedirectAction. The Location is built by the data plane from
// the request; the translator checks the fields and fills statusCode's default (302).
import type { IRRedirectAction } from '../../ir/index.ts';
import { invalid, isIntegerIn, isInvalid, isObject, isPreciseHostname, unknownValue, type Invalid } from './invalid.ts';
import { convertPathModifier } from './path-modifier.ts';

const STATUS_CODES: readonly IRRedirectAction['statusCode'][] = [301, 302, 303, 307, 308];

export function convertRedirect(spec: unknown, field: string): IRRedirectAction | Invalid {
  if (!isObject(spec)) return invalid(`${field}: must be an object`);
  const { scheme, hostname, port } = spec;
  if (scheme !== undefined) {
    if (typeof scheme !== 'string') return invalid(`${field}.scheme: must be http or https`);
    if (scheme !== 'http' && scheme !== 'https') return unknownValue(`${field}.scheme: ${JSON.stringify(scheme)} is not a supported scheme (http, https)`);
  }
  if (hostname !== undefined && !isPreciseHostname(hostname)) return invalid(`${field}.hostname: ${JSON.stringify(hostname)} is not a valid hostname`);
  if (port !== undefined && !isIntegerIn(port, 1, 65535)) return invalid(`${field}.port: ${JSON.stringify(port)} is not a port number (1 to 65535)`);
  const statusCode = spec.statusCode ?? 302;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode)) return invalid(`${field}.statusCode: ${JSON.stringify(statusCode)} must be an integer`);
  if (!STATUS_CODES.includes(statusCode as IRRedirectAction['statusCode'])) {
    return unknownValue(`${field}.statusCode: ${statusCode} is not a supported redirect status code (${STATUS_CODES.join(', ')})`);
  }
  const path = spec.path === undefined ? undefined : convertPathModifier(spec.path, `${field}.path`);
  if (isInvalid(path)) return path;
  return {
    type: 'Redirect',
    ...(scheme !== undefined ? { scheme } : {}),
    ...(hostname !== undefined ? { hostname } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(path !== undefined ? { path } : {}),
    statusCode: statusCode as IRRedirectAction['statusCode'],
  };
}
