// The hot path: the head of every upstream response is parsed here; changes here are measured.
// RFC 9112 §4 (status line), §5 (field lines), §6.3 (message body length), read strictly: what
// a lenient reader would guess at is a 502, never a body framed two ways.
import { eqLower, isToken, trimOws } from '../headers.ts';

/** The largest response head read; a larger one is an error. */
export const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;

/** How the response body is delimited. */
export const BODY_NONE = 0;
export const BODY_LENGTH = 1;
export const BODY_CHUNKED = 2;
export const BODY_UNTIL_CLOSE = 3;

/** A parsed response head; `error` set when it is not valid. */
export interface ResponseHead {
  status: number;
  /** Field lines as a flat name/value array, names as written, values without surrounding whitespace. */
  headers: string[];
  framing: number;
  contentLength: number;
  /** The connection may carry another request after this response. */
  keepAlive: boolean;
  /** `Keep-Alive: timeout=N` in ms, -1 when absent. */
  keepAliveHintMs: number;
  error: string | undefined;
}

/**
 * Parses `text` (the head without its final CRLF CRLF, latin1) of the answer to a `method`
 * request. Never throws: a malformed head comes back with `error` set.
 */
export function parseResponseHead(text: string, isHead: boolean): ResponseHead {
  const head: ResponseHead = { status: 0, headers: [], framing: BODY_NONE, contentLength: -1, keepAlive: true, keepAliveHintMs: -1, error: undefined };
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd < 0) lineEnd = text.length;
  const http10 = parseStatusLine(text, lineEnd, head);
  if (head.error !== undefined) return head;
  let chunked = false;
  let transferEncoding = false;
  let connection = '';
  let pos = lineEnd + 2;
  while (pos < text.length) {
    let end = text.indexOf('\r\n', pos);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', pos);
    if (colon <= pos || colon >= end) return invalid(head, 'a header line without a name and a colon');
    const name = text.slice(pos, colon);
    const value = trimOws(text, colon + 1, end);
    if (!isToken(name)) return invalid(head, `invalid header name ${JSON.stringify(name)}`);
    if (value.includes('\r') || value.includes('\n')) return invalid(head, `a bare CR or LF in header ${name}`);
    head.headers.push(name, value);
    switch (name.length) {
      case 10:
        if (eqLower(name, 'connection')) connection = connection === '' ? value : `${connection},${value}`;
        else if (eqLower(name, 'keep-alive')) head.keepAliveHintMs = keepAliveTimeoutMs(value);
        break;
      case 14:
        if (eqLower(name, 'content-length') && !setContentLength(head, value)) return head;
        break;
      case 17:
        if (eqLower(name, 'transfer-encoding')) {
          transferEncoding = true;
          chunked = lastCodingIsChunked(value);
        }
        break;
      default: break;
    }
    pos = end + 2;
  }
  head.keepAlive = connectionKeepsAlive(connection, http10);
  return frame(head, isHead, transferEncoding, chunked);
}

/** `HTTP/1.x SP 3DIGIT [SP reason]`; returns whether the version is 1.0. */
function parseStatusLine(text: string, end: number, head: ResponseHead): boolean {
  if (end < 12 || !text.startsWith('HTTP/1.') || text.charCodeAt(8) !== 0x20 || (end > 12 && text.charCodeAt(12) !== 0x20)) {
    invalid(head, `invalid status line ${JSON.stringify(text.slice(0, Math.min(end, 64)))}`);
    return false;
  }
  const minor = text.charCodeAt(7);
  const d1 = text.charCodeAt(9) - 48;
  const d2 = text.charCodeAt(10) - 48;
  const d3 = text.charCodeAt(11) - 48;
  if ((minor !== 0x30 && minor !== 0x31) || !(d1 >= 1 && d1 <= 5) || !(d2 >= 0 && d2 <= 9) || !(d3 >= 0 && d3 <= 9)) {
    invalid(head, `invalid status line ${JSON.stringify(text.slice(0, Math.min(end, 64)))}`);
    return false;
  }
  head.status = d1 * 100 + d2 * 10 + d3;
  return minor === 0x30;
}

/** RFC 9112 §6.3, in its order; a Transfer-Encoding with a Content-Length is refused (request smuggling's shape). */
function frame(head: ResponseHead, isHead: boolean, transferEncoding: boolean, chunked: boolean): ResponseHead {
  const s = head.status;
  if (isHead || s < 200 || s === 204 || s === 304) {
    head.framing = BODY_NONE;
    return head;
  }
  if (transferEncoding) {
    if (head.contentLength >= 0) return invalid(head, 'both Transfer-Encoding and Content-Length');
    // A coding other than chunked last is delimited by the close (§6.3 item 4); it would reach
    // the client re-framed with its coding undeclared, so it is refused instead.
    if (!chunked) return invalid(head, 'a Transfer-Encoding other than chunked');
    head.framing = BODY_CHUNKED;
    return head;
  }
  if (head.contentLength >= 0) {
    head.framing = BODY_LENGTH;
    return head;
  }
  head.framing = BODY_UNTIL_CLOSE;
  head.keepAlive = false;
  return head;
}

/** One or more equal decimal values (`42` or `42, 42`); differing or non-decimal ones are an error. */
function setContentLength(head: ResponseHead, value: string): boolean {
  for (const part of value.split(',')) {
    const v = part.trim();
    if (v.length === 0 || v.length > 15 || !/^\d+$/.test(v)) {
      invalid(head, `invalid Content-Length ${JSON.stringify(value)}`);
      return false;
    }
    const n = Number(v);
    if (head.contentLength >= 0 && head.contentLength !== n) {
      invalid(head, 'differing Content-Length values');
      return false;
    }
    head.contentLength = n;
  }
  return true;
}

function lastCodingIsChunked(value: string): boolean {
  const comma = value.lastIndexOf(',');
  const last = value.slice(comma + 1).trim();
  return last.length === 7 && eqLower(last, 'chunked');
}

/** HTTP/1.1 keeps the connection unless `close`; HTTP/1.0 only with `keep-alive`. */
function connectionKeepsAlive(connection: string, http10: boolean): boolean {
  let close = false;
  let keep = false;
  if (connection !== '') {
    for (const token of connection.split(',')) {
      const t = token.trim();
      if (t.length === 5 && eqLower(t, 'close')) close = true;
      else if (t.length === 10 && eqLower(t, 'keep-alive')) keep = true;
    }
  }
  return !close && (!http10 || keep);
}

/** The `timeout=N` parameter of a Keep-Alive header, in ms; -1 when absent or invalid. */
function keepAliveTimeoutMs(value: string): number {
  const m = /(?:^|[,;\s])timeout\s*=\s*(\d{1,9})/i.exec(value);
  return m === null ? -1 : Number(m[1]) * 1000;
}

function invalid(head: ResponseHead, message: string): ResponseHead {
  head.error = message;
  return head;
}
