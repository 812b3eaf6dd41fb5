// HTTPURLRewriteFilter → IRUrlRewrite: the Host header and path sent upstream.
import type { IRUrlRewrite } from '../../ir/index.ts';
import { invalid, isInvalid, isObject, isPreciseHostname, type Invalid } from './invalid.ts';
import { convertPathModifier } from './path-modifier.ts';

export function convertUrlRewrite(spec: unknown, field: string): IRUrlRewrite | Invalid {
  if (!isObject(spec)) return invalid(`${field}: must be an object`);
  const { hostname } = spec;
  if (hostname !== undefined && !isPreciseHostname(hostname)) return invalid(`${field}.hostname: ${JSON.stringify(hostname)} is not a valid hostname`);
  const path = spec.path === undefined ? undefined : convertPathModifier(spec.path, `${field}.path`);
  if (isInvalid(path)) return path;
  return { ...(hostname !== undefined ? { hostname } : {}), ...(path !== undefined ? { path } : {}) };
}
