// The hot path: the head of a client request on the fast path; changes here are measured.
// A recognizer, not a parser: it accepts only the plainest requests (GET or HEAD, HTTP/1.1,
// origin-form target, token names, visible values, one Host, no body headers) and says
// "not mine" for everything else, which node's HTTP server then parses and answers. So no
// request is ever read two ways: a request either has no body here, or never comes here.
import { eqLower, isToken, trimOws } from '../headers.ts';

export interface FastHead {
  method: string;
  url: string;
  /** Field lines as a flat name/value array, as node's `rawHeaders`. */
  rawHeaders: string[];
  /** The client asked to close the connection after this request. */
  close: boolean;
}

/** The request in `text` (its head without the final CRLF CRLF), or undefined when it is not for the fast path. */
export function recognizeRequest(text: string): FastHead | undefined {
  const lineEnd = text.indexOf('\r\n');
  if (lineEnd < 0) return undefined;
  const sp1 = text.indexOf(' ');
  if (sp1 !== 3 && sp1 !== 4) return undefined;
  const method = text.slice(0, sp1);
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  // `SP target SP HTTP/1.1`: the version is exactly HTTP/1.1 (1.0 keeps other rules).
  if (lineEnd - 9 <= sp1 + 1 || !text.startsWith(' HTTP/1.1', lineEnd - 9)) return undefined;
  const url = text.slice(sp1 + 1, lineEnd - 9);
  if (url.charCodeAt(0) !== 0x2f || !isVisible(url)) return undefined;
  const rawHeaders: string[] = [];
  let hosts = 0;
  let close = false;
  let pos = lineEnd + 2;
  while (pos < text.length) {
    let end = text.indexOf('\r\n', pos);
    if (end < 0) end = text.length;
    const colon = text.indexOf(':', pos);
    if (colon <= pos || colon >= end) return undefined;
    const name = text.slice(pos, colon);
    const value = trimOws(text, colon + 1, end);
    if (!isToken(name) || !isFieldValue(value)) return undefined;
    switch (name.length) {
      case 4: if (eqLower(name, 'host')) hosts++; break;
      case 6: if (eqLower(name, 'expect')) return undefined; break;
      case 7: if (eqLower(name, 'upgrade')) return undefined; break;
      case 10:
        if (eqLower(name, 'connection')) {
          const token = value.toLowerCase();
          if (token === 'close') close = true;
          else if (token !== 'keep-alive') return undefined;
        }
        break;
      case 14: if (eqLower(name, 'content-length')) return undefined; break;
      case 17: if (eqLower(name, 'transfer-encoding')) return undefined; break;
      default: break;
    }
    rawHeaders.push(name, value);
    pos = end + 2;
  }
  if (hosts !== 1) return undefined;
  return { method, url, rawHeaders, close };
}

/** Visible ASCII only (no space, control or byte above 0x7e). */
function isVisible(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** RFC 9110 §5.5 field-value, ASCII only: visible characters, spaces and tabs. */
function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c >= 0x7f) return false;
  }
  return true;
}
