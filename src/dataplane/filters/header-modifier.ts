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
    if (dropped(name, m)) continue;
    out.push(name, headers[i + 1]);
  }
  for (const h of m.set) out.push(h.name, h.value);
  for (const h of m.add) appendValue(out, h.name, h.value);
  return out;
}

/** `name` is replaced (`set`) or removed (`remove`) by `m`. */
function dropped(name: string, m: CompiledHeaderModifier): boolean {
  for (const h of m.set) if (sameName(name, h.name)) return true;
  for (const r of m.remove) if (sameName(name, r)) return true;
  return false;
}

/** `name` equals the lower-case `lower`, ASCII case ignored, without allocating. */
function sameName(name: string, lower: string): boolean {
  if (name.length !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90 ? c + 32 : c) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function appendValue(out: string[], name: string, value: string): void {
  if (name !== 'set-cookie') {
    for (let i = 0; i < out.length; i += 2) {
      if (sameName(out[i], name)) {
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
    if (sameName(headers[i], name)) continue;
    out.push(headers[i], headers[i + 1]);
  }
  out.push(name, value);
  return out;
}
