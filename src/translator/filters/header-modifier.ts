// HTTPHeaderFilter (RequestHeaderModifier, ResponseHeaderModifier) → IRHeaderModifier. Header
// names are case-insensitive, so the IR holds them in lower case; of `set` (or `add`) entries
// with equivalent names the first counts and the others are ignored, as HTTPHeader.name says.
import type { IRHeaderModifier } from '../../ir/index.ts';
import { invalid, isHeaderName, isInvalid, isObject, listField, type Invalid } from './invalid.ts';

/**
 * HTTPHeader.value: printable US-ASCII, optionally separated by single tabs or spaces. The
 * CRD's pattern `^[!-~]+([\t ]?[!-~]+)*$` backtracks exponentially on a value that fails at its
 * end; this one accepts the same strings in one pass (each step: an optional separator, then
 * one visible character).
 */
const HEADER_VALUE = /^[!-~](?:[\t ]?[!-~])*$/;

export function convertHeaderModifier(spec: unknown, field: string): IRHeaderModifier | Invalid {
  if (!isObject(spec)) return invalid(`${field}: must be an object`);
  const set = convertHeaders(spec.set, `${field}.set`);
  if (isInvalid(set)) return set;
  const add = convertHeaders(spec.add, `${field}.add`);
  if (isInvalid(add)) return add;
  const remove = convertRemove(spec.remove, `${field}.remove`);
  if (isInvalid(remove)) return remove;
  return { set, add, remove };
}

type Header = { readonly name: string; readonly value: string };

function convertHeaders(v: unknown, field: string): Header[] | Invalid {
  const items = listField(v, 16, field);
  if (isInvalid(items)) return items;
  const out: Header[] = [];
  for (const [i, h] of (items ?? []).entries()) {
    if (!isObject(h) || !isHeaderName(h.name)) return invalid(`${field}[${i}].name: ${JSON.stringify(isObject(h) ? h.name : h)} is not a valid HTTP header name`);
    if (typeof h.value !== 'string' || h.value.length > 4096 || !HEADER_VALUE.test(h.value)) {
      return invalid(`${field}[${i}].value: must be 1 to 4096 printable US-ASCII characters, optionally separated by single spaces or tabs`);
    }
    const name = h.name.toLowerCase();
    if (!out.some((o) => o.name === name)) out.push({ name, value: h.value });
  }
  return out;
}

function convertRemove(v: unknown, field: string): string[] | Invalid {
  const items = listField(v, 16, field);
  if (isInvalid(items)) return items;
  const out: string[] = [];
  for (const [i, name] of (items ?? []).entries()) {
    if (!isHeaderName(name)) return invalid(`${field}[${i}]: ${JSON.stringify(name)} is not a valid HTTP header name`);
    const lower = name.toLowerCase();
    if (!out.includes(lower)) out.push(lower);
  }
  return out;
}
