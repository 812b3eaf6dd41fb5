// The hot path: header rewriting for every proxied request and response; changes here are measured.
// Names are classified by length first and compared case-insensitively without allocating.

const H_OTHER = 0;
const H_HOP = 1; // hop-by-hop: never forwarded (RFC 9110 §7.6.1)
const H_HOST = 2;
const H_CONNECTION = 3;
const H_TE = 4;
const H_CONTENT_LENGTH = 5;
const H_TRANSFER_ENCODING = 6;
const H_XFF = 7;
const H_XF_OTHER = 8; // x-forwarded-proto / x-forwarded-host: replaced by ours
const H_EXPECT = 9; // answered by this proxy (100-continue), not forwarded

/** `name` equals the lower-case literal `lit`, ignoring ASCII case. Token characters only. */
export function eqLower(name: string, lit: string): boolean {
  for (let i = 0; i < lit.length; i++) {
    if ((name.charCodeAt(i) | 0x20) !== lit.charCodeAt(i)) return false;
  }
  return true;
}

/** RFC 9110 §5.6.2 tchar, at least one. */
export function isToken(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f) continue;
    if ("!#$%&'*+.^`|~".indexOf(name[i]) >= 0) continue;
    return false;
  }
  return name.length > 0;
}

/** `text` from `start` to `end` without the optional whitespace (SP, HTAB) around a field value. */
export function trimOws(text: string, start: number, end: number): string {
  while (start < end && (text.charCodeAt(start) === 0x20 || text.charCodeAt(start) === 0x09)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 0x20 || text.charCodeAt(end - 1) === 0x09)) end--;
  return text.slice(start, end);
}

function classify(name: string): number {
  switch (name.length) {
    case 2: return eqLower(name, 'te') ? H_TE : H_OTHER;
    case 4: return eqLower(name, 'host') ? H_HOST : H_OTHER;
    case 6: return eqLower(name, 'expect') ? H_EXPECT : H_OTHER;
    case 7: return eqLower(name, 'upgrade') || eqLower(name, 'trailer') ? H_HOP : H_OTHER;
    case 10:
      if (eqLower(name, 'connection')) return H_CONNECTION;
      return eqLower(name, 'keep-alive') ? H_HOP : H_OTHER;
    case 14: return eqLower(name, 'content-length') ? H_CONTENT_LENGTH : H_OTHER;
    case 15: return eqLower(name, 'x-forwarded-for') ? H_XFF : H_OTHER;
    case 16:
      if (eqLower(name, 'x-forwarded-host')) return H_XF_OTHER;
      return eqLower(name, 'proxy-connection') ? H_HOP : H_OTHER;
    case 17:
      if (eqLower(name, 'transfer-encoding')) return H_TRANSFER_ENCODING;
      return eqLower(name, 'x-forwarded-proto') ? H_XF_OTHER : H_OTHER;
    default: return H_OTHER;
  }
}

/** What the proxy learns about a request while rewriting its head. */
export interface RequestHead {
  host: string | undefined;
  /** -1 when absent. */
  contentLength: number;
  chunked: boolean;
}

/** The scheme the client used: `https` on binds that terminate TLS. */
export type ClientScheme = 'http' | 'https';

/**
 * Request headers to send upstream, as a flat name/value array: hop-by-hop headers removed
 * (including those named by Connection), Host preserved, X-Forwarded-For appended with the
 * client address, X-Forwarded-Proto set to the bind's `scheme` (a client's own value is never
 * trusted) and X-Forwarded-Host set. Fills `head`.
 */
export function upstreamRequestHeaders(raw: readonly string[], clientIp: string, head: RequestHead, scheme: ClientScheme = 'http'): string[] {
  const out: string[] = [];
  let xff: string | undefined;
  let connection: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    switch (classify(name)) {
      case H_OTHER: out.push(name, value); break;
      case H_HOST: host ??= value; out.push(name, value); break;
      case H_CONTENT_LENGTH: head.contentLength = Number(value); out.push(name, value); break;
      case H_TRANSFER_ENCODING: head.chunked = true; break;
      case H_XFF: xff = xff === undefined ? value : `${xff}, ${value}`; break;
      case H_CONNECTION: connection = connection === undefined ? value : `${connection},${value}`; break;
      case H_TE: if (value.toLowerCase().includes('trailers')) out.push('te', 'trailers'); break;
      default: break;
    }
  }
  head.host = host;
  out.push('x-forwarded-for', xff === undefined ? clientIp : `${xff}, ${clientIp}`);
  out.push('x-forwarded-proto', scheme);
  if (host !== undefined) out.push('x-forwarded-host', host);
  return connection === undefined ? out : removeConnectionTokens(out, connection);
}

/** Response headers for the client (the upstream's field lines as name/value pairs), hop-by-hop removed. */
export function downstreamResponseHeaders(raw: readonly string[], close: boolean): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const kind = classify(name);
    if (kind === H_CONNECTION) connection = connection === undefined ? raw[i + 1] : `${connection},${raw[i + 1]}`;
    else if (kind !== H_HOP && kind !== H_TE && kind !== H_TRANSFER_ENCODING) out.push(name, raw[i + 1]);
  }
  if (close) out.push('connection', 'close');
  return connection === undefined ? out : removeConnectionTokens(out, connection);
}

/** Drops the headers a Connection header names (other than close/keep-alive). */
function removeConnectionTokens(headers: string[], connection: string): string[] {
  // The usual values name no header: skip the parse.
  if ((connection.length === 10 && eqLower(connection, 'keep-alive')) || (connection.length === 5 && eqLower(connection, 'close'))) return headers;
  const named = new Set<string>();
  for (const token of connection.split(',')) {
    const t = token.trim().toLowerCase();
    if (t !== '' && t !== 'close' && t !== 'keep-alive' && t !== 'connection') named.add(t);
  }
  if (named.size === 0) return headers;
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if ((name.length === 10 && eqLower(name, 'connection')) || !named.has(name.toLowerCase())) out.push(name, headers[i + 1]);
  }
  return out;
}

/**
 * Request headers for an HTTP/1.1 Upgrade handshake (WebSocket): as upstreamRequestHeaders
 * (hop-by-hop headers and those Connection names removed, X-Forwarded-* set), except that
 * Upgrade is kept and Connection says `Upgrade`, so the backend can switch protocols. A
 * separate function so that ordinary requests pay nothing for it.
 */
export function upgradeRequestHeaders(raw: readonly string[], clientIp: string, head: RequestHead, scheme: ClientScheme): string[] {
  const out = upstreamRequestHeaders(raw, clientIp, head, scheme);
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 7 && eqLower(raw[i], 'upgrade')) out.push(raw[i], raw[i + 1]);
  out.push('connection', 'Upgrade');
  return out;
}
