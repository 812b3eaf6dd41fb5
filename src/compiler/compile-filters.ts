// Filters, redirects and CORS compiled once per IR version: lower-cased names, joined header
// values, origin matchers and path-modifier pieces, so the request path builds none of them.
import type { IRCors, IRFilters, IRHeaderModifier, IRPathModifier, IRRedirectAction, IRRoute } from '../ir/index.ts';
import type { CompiledCors, CompiledFilters, CompiledHeaderModifier, CompiledPathModifier, CompiledRedirect } from './types.ts';

/** The filters of a rule or a backendRef; undefined when there are none. */
export function compileFilters(filters: IRFilters | undefined, route: IRRoute, problems: string[]): CompiledFilters | undefined {
  if (filters === undefined) return undefined;
  const { requestHeaders, responseHeaders, urlRewrite, mirrors, cors } = filters;
  if (requestHeaders === undefined && responseHeaders === undefined && urlRewrite === undefined && (mirrors ?? []).length === 0 && cors === undefined) {
    return undefined;
  }
  return {
    cors: cors === undefined ? undefined : compileCors(cors),
    requestHeaders: compileHeaderModifier(requestHeaders),
    urlRewrite: urlRewrite === undefined ? undefined : {
      hostname: urlRewrite.hostname,
      path: urlRewrite.path === undefined ? undefined : compilePathModifier(urlRewrite.path, route, 'urlRewrite', problems),
    },
    mirrors: (mirrors ?? []).map((m) => ({ backend: m.backend, numerator: m.numerator, denominator: m.denominator })),
    responseHeaders: compileHeaderModifier(responseHeaders),
  };
}

function compileHeaderModifier(m: IRHeaderModifier | undefined): CompiledHeaderModifier | undefined {
  if (m === undefined || (m.set.length === 0 && m.add.length === 0 && m.remove.length === 0)) return undefined;
  // The IR promises lower-case names; lower-casing again costs nothing here and keeps a
  // hand-written IR from sending two spellings of one header.
  const lower = (h: { name: string; value: string }) => ({ name: h.name.toLowerCase(), value: h.value });
  return { set: m.set.map(lower), add: m.add.map(lower), remove: m.remove.map((n) => n.toLowerCase()) };
}

/**
 * HTTPPathModifier. ReplacePrefixMatch only makes sense with a PathPrefix match (the translator
 * rejects the rule otherwise); should one reach the compiler anyway, it is reported and the
 * path is left as it is (undefined).
 */
export function compilePathModifier(path: IRPathModifier, route: IRRoute, where: string, problems: string[]): CompiledPathModifier | undefined {
  if (path.type === 'ReplaceFullPath') return { type: path.type, value: path.value, prefix: '', replacement: path.value };
  const match = route.match.path;
  if (match.type !== 'PathPrefix') {
    problems.push(`${where} ReplacePrefixMatch needs a PathPrefix match, not ${match.type}: the path is kept`);
    return undefined;
  }
  // Segment semantics, as the match: trailing slashes of the prefix and of the value are ignored.
  return { type: path.type, value: path.value, prefix: match.value.replace(/\/+$/, ''), replacement: path.value.replace(/\/+$/, '') };
}

export function compileRedirect(action: IRRedirectAction, route: IRRoute, problems: string[]): CompiledRedirect {
  return {
    type: 'Redirect',
    scheme: action.scheme,
    hostname: action.hostname,
    port: action.port,
    path: action.path === undefined ? undefined : compilePathModifier(action.path, route, 'redirect', problems),
    statusCode: action.statusCode,
  };
}

function compileCors(cors: IRCors): CompiledCors {
  const anyOrigin = cors.allowOrigins.includes('*');
  const origins = new Set<string>();
  const originPatterns: RegExp[] = [];
  for (const origin of cors.allowOrigins) {
    if (origin === '*') continue;
    const normal = normalizeOrigin(origin);
    if (normal.includes('*')) originPatterns.push(originPattern(normal));
    else origins.add(normal);
  }
  const anyMethod = cors.allowMethods.includes('*');
  const anyHeader = cors.allowHeaders.includes('*');
  const anyExpose = cors.exposeHeaders.includes('*');
  return {
    anyOrigin, origins, originPatterns, allowCredentials: cors.allowCredentials,
    anyMethod, methods: anyMethod ? '' : cors.allowMethods.join(', '),
    anyHeader, headers: anyHeader ? '' : cors.allowHeaders.join(', '),
    anyExpose, expose: anyExpose ? '' : cors.exposeHeaders.join(', '),
    maxAge: String(cors.maxAgeSeconds),
  };
}

/**
 * `scheme://host[:port]` lower-cased, without the scheme's default port: HTTPCORSFilter says
 * port 80 is assumed for http origins and 443 for https ones, so `https://a.com` and
 * `https://a.com:443` are one origin. Request origins go through the same function.
 */
export function normalizeOrigin(origin: string): string {
  const lower = origin.toLowerCase();
  if (lower.startsWith('http://') && lower.endsWith(':80')) return lower.slice(0, -3);
  if (lower.startsWith('https://') && lower.endsWith(':443')) return lower.slice(0, -4);
  return lower;
}

/**
 * An origin whose host holds `*`: the wildcard is greedy to the left and spans any number of
 * DNS labels (HTTPCORSFilter.allowOrigins), so `https://*.b.com` takes `https://a.x.b.com`. A
 * host that is only `*` takes every host. Every other character is matched literally.
 */
function originPattern(origin: string): RegExp {
  const escaped = origin.replace(/[.+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(`^${escaped.replaceAll('*', '[^/:@]+')}$`);
}
