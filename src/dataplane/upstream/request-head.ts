// The hot path: the head of every upstream request is written here; changes here are measured.
import { eqLower } from '../headers.ts';
import type { Readable } from 'node:stream';

/** What requestHead learned besides the head; overwritten by every call. */
export const HEAD_INFO = { contentLength: -1, chunked: false };

/**
 * The request head for `method path` with `headers` (flat name/value pairs), framed for `body`:
 * a Buffer gets its own Content-Length; a stream keeps the Content-Length the headers declare
 * (HEAD_INFO.contentLength) or is sent chunked; no body gets `content-length: 0` on methods that
 * expect one. `host` is added when the headers have no Host. Undefined when the head could not be
 * sent as given: a CR, LF or NUL anywhere, a space in the method or path (header injection).
 */
export function requestHead(method: string, path: string, headers: readonly string[], host: string, body: Buffer | Readable | null): string | undefined {
  if (!isRequestTarget(path) || !isMethod(method)) return undefined;
  let head = `${method} ${path} HTTP/1.1\r\n`;
  // The request line, the final empty line and each header line: one CR and one LF each.
  let lines = 2;
  let hasHost = false;
  let declared = -1;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (name.length === 4 && eqLower(name, 'host')) hasHost = true;
    else if (name.length === 14 && eqLower(name, 'content-length')) {
      declared = Number(headers[i + 1]);
      continue;
    }
    head += `${name}: ${headers[i + 1]}\r\n`;
    lines++;
  }
  if (!hasHost) {
    head += `host: ${host}\r\n`;
    lines++;
  }
  HEAD_INFO.chunked = false;
  HEAD_INFO.contentLength = -1;
  if (body === null) {
    if (declared > 0) return undefined;
    if (declared === 0 || method === 'POST' || method === 'PUT' || method === 'PATCH') {
      head += 'content-length: 0\r\n';
      lines++;
    }
  } else if (Buffer.isBuffer(body)) {
    head += `content-length: ${body.length}\r\n`;
    lines++;
  } else if (declared >= 0 && Number.isSafeInteger(declared)) {
    HEAD_INFO.contentLength = declared;
    head += `content-length: ${declared}\r\n`;
    lines++;
  } else {
    HEAD_INFO.chunked = true;
    head += 'transfer-encoding: chunked\r\n';
    lines++;
  }
  head += '\r\n';
  // Every line break is one of ours: a CR, LF or NUL inside a name or value is header injection.
  if (count(head, '\n') !== lines || count(head, '\r') !== lines || head.includes('\0')) return undefined;
  return head;
}

function count(text: string, ch: string): number {
  let n = 0;
  for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

/** origin-form or absolute-form: visible ASCII or bytes from 0x80, no space or control. */
function isRequestTarget(path: string): boolean {
  if (path.length === 0) return false;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) return false;
  }
  return true;
}

function isMethod(method: string): boolean {
  if (method.length === 0) return false;
  for (let i = 0; i < method.length; i++) {
    const c = method.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x3a) return false;
  }
  return true;
}
