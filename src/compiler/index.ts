// compiler: PURE. IR → routing tables; dump() prints them. May import ir and util only.
export { compile } from './compile.ts';
export { dump } from './dump.ts';
export { normalizeOrigin } from './compile-filters.ts';
export { selectRoute, headerValue, parseQuery, decodeFormComponent } from './select-route.ts';
export { lookupHost, normalizeHost, buildHostTable } from './host-table.ts';
export { PATH_EXACT, PATH_PREFIX, PATH_ANY, PATH_REGEX } from './types.ts';
export type * from './types.ts';
