// HTTPPathModifier for URLRewrite and RequestRedirect.
import type { CompiledPathModifier } from '../../compiler/index.ts';

/**
 * The path after `m`. ReplacePrefixMatch replaces the matched prefix, whole path segments only,
 * as in the table of the HTTPPathModifier description (prefix `/foo`):
 *
 *   request   | replacement | result
 *   /foo/bar  | /xyz, /xyz/ | /xyz/bar
 *   /foo      | /xyz        | /xyz
 *   /foo/     | /xyz        | /xyz/
 *   /foo/bar  | (empty)     | /bar
 *   /foo/     | (empty), /  | /
 *   /foo      | (empty), /  | /
 *
 * `prefix` and `replacement` come without trailing slashes (compilePathModifier), so the rest
 * of the path after the prefix is empty or starts with `/`.
 */
export function applyPathModifier(path: string, m: CompiledPathModifier): string {
  if (m.type === 'ReplaceFullPath') return m.value;
  if (!path.startsWith(m.prefix)) return path;
  const rest = path.slice(m.prefix.length);
  if (rest === '') return m.replacement === '' ? '/' : m.replacement;
  return m.replacement + rest;
}
