// HTTPHeaderFilter (RequestHeaderModifier, ResponseHeaderModifier) on a flat name/value array.
// Runs only for routes that have the filter; names in the modifier are lower-case already.
import type { CompiledHeaderModifier } from '../../compiler/index.ts';

/**
 * The headers after `m`: every value of a name in `set` or `remove` dropped (names compared
 * case-insensitively), then `set` values, then `add` values appended. An added value joins an
 * existing header of that name with a comma, as the spec's example (`my-header: foo` plus add
 * `bar` gives `my-header: foo,bar`); Set-Cookie, which cannot be joined, gets a line of its own.
 */
export function modifyHeaders(headers: readonly string[], m: CompiledHeaderModifier): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (m.drop.size > 0 && m.drop.has(name.toLowerCase())) continue;
    out.push(name, headers[i + 1]);
  }
  for (const h of m.set) out.push(h.name, h.value);
  for (const h of m.add) appendValue(out, h.name, h.value);
  return out;
}

function appendValue(out: string[], name: string, value: string): void {
  if (name !== 'set-cookie') {
    for (let i = 0; i < out.length; i += 2) {
      if (out[i].length === name.length && out[i].toLowerCase() === name) {
        out[i + 1] = `${out[i + 1]},${value}`;
        return;
      }
    }
  }
  out.push(name, value);
}

/** Replaces every value of `name` (lower-case) by `value`, or adds it. */
export function replaceHeader(headers: string[], name: string, value: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i].length === name.length && headers[i].toLowerCase() === name) continue;
    out.push(headers[i], headers[i + 1]);
  }
  out.push(name, value);
  return out;
}
