// Compiled routing tables: what the data plane consults per request. Built once per IR
// version by compile(); read-only afterwards, so in-flight requests can keep an old table.
import type { IRBackend, IRRoute, IRTimeouts } from '../ir/index.ts';

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
}

export type CompiledAction =
  | { readonly type: 'Forward'; readonly choices: readonly CompiledChoice[] }
  | { readonly type: 'DirectResponse'; readonly status: number };

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
  readonly virtualHosts: HostTable<CompiledVirtualHost>;
}

export interface CompiledBind {
  readonly name: string;
  readonly address: string;
  readonly port: number;
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
