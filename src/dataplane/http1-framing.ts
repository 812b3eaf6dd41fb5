// The hot path: HTTP/1.1 message framing shared by the client side (fast/) and the upstream
// side (upstream/); changes here are measured.
import type { Writable } from 'node:stream';

/** The empty line that ends a message head (RFC 9112 §2.1). */
export const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');

/** Writes `chunk` as one chunk of a chunked body (RFC 9112 §7.1); the caller corks. False when `out` is full. */
export function writeChunk(out: Writable, chunk: Buffer | string): boolean {
  out.write(`${Buffer.byteLength(chunk).toString(16)}\r\n`, 'latin1');
  out.write(chunk);
  return out.write('\r\n', 'latin1');
}
