// Compiled routing tables: what the data plane consults per request. Built once per IR
// version by compile(); read-only afterwards, so in-flight requests can keep an old table.
import type { IRBackend, IRRoute, IRRouteRetry, IRTimeouts } from '../ir/index.ts';

/**
 * Host lookup table shared by listeners and virtual hosts: exact names first, then wildcard
 * suffixes (longest first), then the catch-all entry.
 */
export interface HostTable<T> {
  /** Lower-case exact host → entry. */
  readonly exact: ReadonlyMap<string, T>;
  /** Wildcard suffix including the leading dot (`.example.com`) → entry. */
  readonly wildcard: ReadonlyMap<string, T>;
  /** Entry for a missing hostname (listener) or `*` (virtual host). */
  readonly any: T | undefined;
}

/** Kind of path match, as a small integer so the hot path compares numbers. */
export const PATH_EXACT = 0;
export const PATH_PREFIX = 1;
export const PATH_ANY = 2;
export const PATH_REGEX = 3;
export type PathKind = typeof PATH_EXACT | typeof PATH_PREFIX | typeof PATH_ANY | typeof PATH_REGEX;

export interface CompiledStringMatch {
  readonly name: string;
  /** Set for a RegularExpression match (anchored full match), else undefined. */
  readonly regex: RegExp | undefined;
  /** Value for an Exact match. */
  readonly value: string;
}

export interface CompiledChoice {
  readonly weight: number;
  /** IRBackend name, or undefined when the choice answers with `status`. */
  readonly backend: string | undefined;
  readonly status: number;
  /** The backendRef's own filters (HTTPBackendRef.filters), applied after the rule's. */
  readonly filters: CompiledFilters | undefined;
}

export type CompiledAction =
  | { readonly type: 'Forward'; readonly choices: readonly CompiledChoice[] }
  | { readonly type: 'DirectResponse'; readonly status: number }
  | CompiledRedirect;

/**
 * HTTPPathModifier, ready to apply. ReplacePrefixMatch replaces `prefix` (the route's PathPrefix
 * match value without its trailing slash) with `replacement` (the value without trailing slashes).
 */
export interface CompiledPathModifier {
  readonly type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  readonly value: string;
  readonly prefix: string;
  readonly replacement: string;
}

/** HTTPRequestRedirectFilter; absent fields keep the request's value (see IRRedirectAction). */
export interface CompiledRedirect {
  readonly type: 'Redirect';
  readonly scheme: 'http' | 'https' | undefined;
  readonly hostname: string | undefined;
  readonly port: number | undefined;
  readonly path: CompiledPathModifier | undefined;
  readonly statusCode: number;
}

/** HTTPHeaderFilter with lower-case names: `set` and `remove` drop every value of a name. */
export interface CompiledHeaderModifier {
  readonly set: readonly { readonly name: string; readonly value: string }[];
  readonly add: readonly { readonly name: string; readonly value: string }[];
  readonly remove: readonly string[];
}

/** HTTPCORSFilter, with origins as matchers and the answer headers' values joined once. */
export interface CompiledCors {
  /** `allowOrigins` is `*`: every origin. */
  readonly anyOrigin: boolean;
  /** Lower-case origins without their scheme's default port. */
  readonly origins: ReadonlySet<string>;
  /** Origins with a `*` in their host, anchored. */
  readonly originPatterns: readonly RegExp[];
  readonly allowCredentials: boolean;
  /** `allowMethods` is `*`. */
  readonly anyMethod: boolean;
  /** `Access-Control-Allow-Methods` value (`, `-joined); empty when none are listed. */
  readonly methods: string;
  readonly anyHeader: boolean;
  readonly headers: string;
  readonly anyExpose: boolean;
  readonly expose: string;
  readonly maxAge: string;
}

export interface CompiledMirror {
  readonly backend: string;
  readonly numerator: number;
  readonly denominator: number;
}

/** IRFilters, compiled: in request order CORS, request headers, URL rewrite, mirrors. */
export interface CompiledFilters {
  readonly cors: CompiledCors | undefined;
  readonly requestHeaders: CompiledHeaderModifier | undefined;
  readonly urlRewrite: { readonly hostname: string | undefined; readonly path: CompiledPathModifier | undefined } | undefined;
  readonly mirrors: readonly CompiledMirror[];
  readonly responseHeaders: CompiledHeaderModifier | undefined;
}

export interface CompiledRoute {
  /** Index in CompiledConfig.routes: lets the data plane keep per-route state in an array. */
  readonly id: number;
  readonly name: string;
  readonly pathKind: PathKind;
  /** Exact value, or the prefix without its trailing slash. */
  readonly pathValue: string;
  readonly pathRegex: RegExp | undefined;
  readonly method: string | undefined;
  readonly headers: readonly CompiledStringMatch[];
  readonly queryParams: readonly CompiledStringMatch[];
  readonly action: CompiledAction;
  readonly timeouts: IRTimeouts | undefined;
  /** The rule's filters (HTTPRouteRule.filters); undefined when it has none. */
  readonly filters: CompiledFilters | undefined;
  /** HTTPRouteRule.retry; undefined: only the connection-level and backend-policy retries. */
  readonly retry: IRRouteRetry | undefined;
  /** False when a regular expression in the match failed to compile: the route never matches. */
  readonly valid: boolean;
  readonly source: IRRoute;
}

export interface CompiledVirtualHost {
  readonly hostname: string;
  readonly routes: readonly CompiledRoute[];
}

export interface CompiledListener {
  readonly name: string;
  readonly hostname: string | undefined;
  /** The Gateway listener's own port (what clients see): redirects use it. */
  readonly port: number;
  readonly virtualHosts: HostTable<CompiledVirtualHost>;
}

export interface CompiledBind {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** HTTPS binds terminate TLS: their requests' scheme is https. */
  readonly protocol: 'HTTP' | 'HTTPS';
  readonly listeners: HostTable<CompiledListener>;
}

export interface CompiledConfig {
  readonly binds: ReadonlyMap<string, CompiledBind>;
  /** Every route of every bind, indexed by CompiledRoute.id. */
  readonly routes: readonly CompiledRoute[];
  readonly backends: ReadonlyMap<string, IRBackend>;
  /** Problems found while compiling (e.g. an invalid regular expression), by element name. */
  readonly errors: readonly string[];
}
