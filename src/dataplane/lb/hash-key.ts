// Hot path: the hash key of a request (header, cookie, query parameter or source IP) and the
// 32-bit string hash every hashing policy uses. Linear in the header bytes scanned; the only
// allocation is the value's substring.
import { decodeFormComponent } from '../../compiler/index.ts';

/** What an extractor reads from a request: node's rawHeaders, the query after `?`, the peer address. */
export interface HashRequest {
  readonly rawHeaders: readonly string[];
  readonly rawQuery: string;
  readonly remoteAddress: string;
}

export type HashKeySpec =
  | { readonly type: 'Header'; readonly name: string }
  | { readonly type: 'Cookie'; readonly name: string }
  | { readonly type: 'QueryParameter'; readonly name: string }
  | { readonly type: 'SourceIP' };

export interface HashKey {
  readonly spec: HashKeySpec;
  /** The key, or undefined when the request has none (hashing policies then pick at random). */
  extract(req: HashRequest): string | undefined;
  /** hash32 of the key, or undefined. */
  hash(req: HashRequest): number | undefined;
}

/** An extractor for one hash policy; built when the configuration is compiled. */
export function createHashKey(spec: HashKeySpec): HashKey {
  const extract = extractorOf(spec);
  return {
    spec,
    extract,
    hash: (req) => {
      const key = extract(req);
      return key === undefined ? undefined : hash32(key);
    },
  };
}

function extractorOf(spec: HashKeySpec): (req: HashRequest) => string | undefined {
  switch (spec.type) {
    case 'Header': {
      const name = spec.name.toLowerCase();
      return (req) => firstHeader(req.rawHeaders, name);
    }
    case 'Cookie':
      return (req) => cookieValue(req.rawHeaders, spec.name);
    case 'QueryParameter':
      return (req) => queryValue(req.rawQuery, spec.name);
    case 'SourceIP':
      return (req) => sourceIp(req.remoteAddress);
  }
}

/** The first value of header `name` (lower case), compared without allocating. */
export function firstHeader(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (equalsLower(rawHeaders[i], name)) return rawHeaders[i + 1];
  }
  return undefined;
}

function equalsLower(text: string, lower: string): boolean {
  if (text.length !== lower.length) return false;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** The value of cookie `name` (RFC 6265: `a=1; b=2`, optionally quoted) in any Cookie header. */
export function cookieValue(rawHeaders: readonly string[], name: string): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!equalsLower(rawHeaders[i], 'cookie')) continue;
    const value = findPair(rawHeaders[i + 1], name, ';');
    if (value !== undefined) return unquote(value.trim());
  }
  return undefined;
}

/** The first value of query parameter `name` (compared as sent), form-decoded. */
export function queryValue(rawQuery: string, name: string): string | undefined {
  const value = findPair(rawQuery, name, '&');
  return value === undefined ? undefined : decodeFormComponent(value);
}

/** The value of `name=value` in a list separated by `sep` (spaces after it ignored). */
function findPair(list: string, name: string, sep: string): string | undefined {
  let start = 0;
  while (start <= list.length) {
    while (list.charCodeAt(start) === 32) start++;
    let end = list.indexOf(sep, start);
    if (end < 0) end = list.length;
    if (list.startsWith(name, start)) {
      const after = start + name.length;
      if (after === end) return '';
      if (list.charCodeAt(after) === 61 /* = */) return list.slice(after + 1, end);
    }
    start = end + 1;
  }
  return undefined;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}


/** The peer address; an IPv4 client seen on a dual-stack socket hashes as the IPv4 address. */
export function sourceIp(remoteAddress: string): string | undefined {
  if (remoteAddress === '') return undefined;
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.') ? remoteAddress.slice(7) : remoteAddress;
}

/**
 * MurmurHash3 (x86, 32-bit) over the UTF-16 code units of `text`, two per block: well mixed,
 * stable across processes and versions (hash rings depend on it; do not change it).
 */
export function hash32(text: string, seed = 0): number {
  let h = seed >>> 0;
  const n = text.length;
  const even = n & ~1;
  for (let i = 0; i < even; i += 2) {
    let k = text.charCodeAt(i) | (text.charCodeAt(i + 1) << 16);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (even !== n) {
    let k = text.charCodeAt(even);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= n * 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
