// The hot path: one kept-alive upstream connection, one request at a time (no pipelining), and
// the framing of its responses (RFC 9112 §6, §7.1); changes here are measured.
import { connect, type Socket } from 'node:net';
import { HEAD_END } from '../http1-framing.ts';
import { NO_DEADLINE } from './sweep.ts';
import type { UpstreamCall } from './call.ts';
import {
  BODY_CHUNKED, BODY_LENGTH, BODY_NONE, MAX_RESPONSE_HEAD_BYTES, parseResponseHead,
} from './response-head.ts';
import {
  UPSTREAM_BAD_RESPONSE, UPSTREAM_BODY_TIMEOUT, UPSTREAM_CLOSED, UPSTREAM_CONNECT_TIMEOUT, UPSTREAM_HEADERS_TIMEOUT,
  UpstreamError, type PoolOptions,
} from './types.ts';

/** What a connection needs of its pool. */
export interface ConnectionOwner {
  readonly options: PoolOptions;
  /** The connection finished a response and may carry another request. */
  release(conn: UpstreamConnection): void;
  /** The connection is closed; it is forgotten. */
  remove(conn: UpstreamConnection): void;
}

// What the connection is reading.
const S_IDLE = 0;
const S_HEAD = 1;
const S_LENGTH = 2;
const S_CHUNK_SIZE = 3;
const S_CHUNK_DATA = 4;
const S_CHUNK_END = 5;
const S_TRAILERS = 6;
const S_UNTIL_CLOSE = 7;

// What the deadline, when reached, means.
const D_NONE = NO_DEADLINE;
const D_CONNECT = 1;
const D_HEADERS = 2;
const D_BODY = 3;
const D_IDLE = 4;

/** A chunk-size line (with extensions) or a trailer line longer than this is refused. */
const MAX_LINE_BYTES = 4096;

export class UpstreamConnection {
  readonly socket: Socket;
  readonly owner: ConnectionOwner;
  connected = false;
  /** Closed or closing: never used again. */
  dead = false;
  call: UpstreamCall | null = null;
  /** performance.now() at which `deadlineKind` fires; checked by the pool's sweep. */
  deadline = 0;
  deadlineKind = D_NONE;
  #state = S_IDLE;
  #head: Buffer | null = null;
  #remaining = 0;
  #line = '';
  #lineBytes = 0;
  #next = 0;
  #keepAlive = true;
  #keepAliveMs = 0;

  constructor(owner: ConnectionOwner, address: string, port: number) {
    this.owner = owner;
    this.socket = connect({ host: address, port, noDelay: true });
    this.setDeadline(D_CONNECT, owner.options.connectTimeoutMs);
    this.socket.on('connect', () => this.#onConnect());
    this.socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.socket.on('end', () => this.#onEnd());
    this.socket.on('error', (err: Error) => this.fail(err));
    this.socket.on('close', () => this.fail(new UpstreamError(UPSTREAM_CLOSED, 'the upstream connection closed')));
  }

  setDeadline(kind: number, ms: number): void {
    this.deadlineKind = kind;
    this.deadline = performance.now() + ms;
  }

  /** Takes `call`, written at once or when connected. */
  start(call: UpstreamCall): void {
    this.call = call;
    call.conn = this;
    if (this.connected) this.#send(call);
  }

  #onConnect(): void {
    this.connected = true;
    this.deadlineKind = D_NONE;
    if (this.call !== null) this.#send(this.call);
  }

  #send(call: UpstreamCall): void {
    call.handler.onRequestStart(call);
    if (!call.active) return;
    this.#state = S_HEAD;
    this.#head = null;
    const body = call.request.body;
    const socket = this.socket;
    if (body === null) {
      socket.write(call.head, 'latin1');
      this.#armHeaders(call);
    } else if (Buffer.isBuffer(body)) {
      socket.cork();
      socket.write(call.head, 'latin1');
      socket.write(body);
      socket.uncork();
      this.#armHeaders(call);
    } else {
      socket.write(call.head, 'latin1');
      // While the body goes out, an upstream that reads none of it for headersTimeout is cut.
      call.streamBody(body, () => this.setDeadline(D_HEADERS, this.owner.options.headersTimeoutMs), () => this.#armHeaders(call));
    }
  }

  /** The time to the response head runs from the end of the request (a long upload is not a slow upstream). */
  #armHeaders(call: UpstreamCall): void {
    if (call.responded || !call.active) return;
    const own = call.request.headersTimeout;
    if (own !== undefined) {
      this.deadlineKind = D_NONE;
      call.armOwnHeadersTimeout(own);
    } else this.setDeadline(D_HEADERS, this.owner.options.headersTimeoutMs);
  }

  /** Called by the sweep once `deadline` passed. */
  onDeadline(): void {
    const kind = this.deadlineKind;
    this.deadlineKind = D_NONE;
    switch (kind) {
      case D_CONNECT: return this.fail(new UpstreamError(UPSTREAM_CONNECT_TIMEOUT, 'upstream connect timeout'));
      case D_HEADERS: return this.fail(new UpstreamError(UPSTREAM_HEADERS_TIMEOUT, 'upstream response headers timeout'));
      case D_BODY:
        // A response the client reads slowly (paused) is not an idle upstream.
        if (this.call?.paused === true) return this.setDeadline(D_BODY, this.#bodyTimeoutMs());
        return this.fail(new UpstreamError(UPSTREAM_BODY_TIMEOUT, 'upstream response body timeout'));
      case D_IDLE: return this.close();
      default: break;
    }
  }

  #bodyTimeoutMs(): number {
    return this.call?.request.bodyTimeout ?? this.owner.options.bodyTimeoutMs;
  }

  /** Kept alive after a response: closed after the pool's idle time, or the upstream's hint less a second. */
  idle(): void {
    this.setDeadline(D_IDLE, this.#keepAliveMs);
  }

  /** Closes an idle connection. */
  close(): void {
    if (this.dead) return;
    this.dead = true;
    this.deadlineKind = D_NONE;
    this.socket.destroy();
    this.owner.remove(this);
  }

  /** Ends the connection, and its request with `err`. */
  fail(err: Error): void {
    const call = this.call;
    if (!this.dead) {
      this.dead = true;
      this.deadlineKind = D_NONE;
      this.socket.destroy();
      this.owner.remove(this);
    }
    if (call === null) return;
    this.call = null;
    call.fail(err);
  }

  #onEnd(): void {
    const call = this.call;
    if (call !== null && this.#state === S_UNTIL_CLOSE) return this.#complete(call, false);
    this.fail(new UpstreamError(UPSTREAM_CLOSED, 'the upstream closed the connection before the response was complete'));
  }

  #onData(chunk: Buffer): void {
    const call = this.call;
    // Bytes nobody asked for: the connection's framing is lost.
    if (call === null || this.#state === S_IDLE) return this.fail(new UpstreamError(UPSTREAM_BAD_RESPONSE, 'unexpected data from the upstream'));
    let buf = chunk;
    let pos = 0;
    while (this.call === call && pos < buf.length) {
      switch (this.#state) {
        case S_HEAD: {
          const next = this.#readHead(call, buf, pos);
          if (next < 0) return;
          if (this.#head !== null) {
            // The head spanned reads: continue in the joined buffer.
            buf = this.#head;
            this.#head = null;
          }
          pos = next;
          break;
        }
        case S_LENGTH: pos = this.#readLength(call, buf, pos); break;
        case S_UNTIL_CLOSE: this.#deliver(call, pos === 0 ? buf : buf.subarray(pos)); pos = buf.length; break;
        case S_CHUNK_SIZE: pos = this.#readChunkSize(buf, pos); break;
        case S_CHUNK_DATA: pos = this.#readChunkData(call, buf, pos); break;
        case S_CHUNK_END: pos = this.#readChunkEnd(buf, pos); break;
        case S_TRAILERS: pos = this.#readTrailers(call, buf, pos); break;
        default: return this.fail(new UpstreamError(UPSTREAM_BAD_RESPONSE, 'unexpected data from the upstream'));
      }
    }
  }

  /** The response head from `pos`; the position after it, or -1 when more bytes are needed or it failed. */
  #readHead(call: UpstreamCall, chunk: Buffer, pos: number): number {
    let buf = chunk;
    let from = pos;
    if (this.#head !== null) {
      const before = this.#head.length;
      buf = Buffer.concat([this.#head, chunk.subarray(pos)]);
      from = Math.max(0, before - 3);
      pos = 0;
    }
    const end = buf.indexOf(HEAD_END, from);
    if (end < 0 || end - pos > MAX_RESPONSE_HEAD_BYTES) {
      if (end >= 0 || buf.length - pos > MAX_RESPONSE_HEAD_BYTES) {
        this.fail(new UpstreamError(UPSTREAM_BAD_RESPONSE, `the upstream response head is over ${MAX_RESPONSE_HEAD_BYTES} bytes`));
      } else this.#head = pos === 0 ? buf : buf.subarray(pos);
      return -1;
    }
    const head = parseResponseHead(buf.toString('latin1', pos, end), call.request.method === 'HEAD');
    const next = end + 4;
    if (head.error !== undefined) {
      this.fail(new UpstreamError(UPSTREAM_BAD_RESPONSE, `invalid upstream response: ${head.error}`));
      return -1;
    }
    // Where the caller continues: in the joined buffer when the head spanned reads.
    this.#head = buf === chunk ? null : buf;
    if (head.status < 200) {
      // 100 Continue, 103 Early Hints: the final answer follows. A 101 was never asked for.
      if (head.status === 101) {
        this.fail(new UpstreamError(UPSTREAM_BAD_RESPONSE, 'an unrequested 101 Switching Protocols'));
        return -1;
      }
      return next;
    }
    this.#keepAlive = head.keepAlive;
    this.#keepAliveMs = head.keepAliveHintMs < 0 ? this.owner.options.keepAliveTimeoutMs : Math.min(this.owner.options.keepAliveTimeoutMs, head.keepAliveHintMs - 1000);
    if (this.#keepAliveMs <= 0) this.#keepAlive = false;
    call.responded = true;
    if (call.timer !== undefined) {
      clearTimeout(call.timer);
      call.timer = undefined;
    }
    this.setDeadline(D_BODY, this.#bodyTimeoutMs());
    call.handler.onResponseStart(call, head.status, head.headers);
    if (this.call !== call) return -1;
    this.#beginBody(call, head.framing, head.contentLength, buf.length > next);
    return next;
  }

  #beginBody(call: UpstreamCall, framing: number, contentLength: number, more: boolean): void {
    if (framing === BODY_NONE || (framing === BODY_LENGTH && contentLength === 0)) return this.#complete(call, more);
    if (framing === BODY_LENGTH) {
      this.#state = S_LENGTH;
      this.#remaining = contentLength;
    } else if (framing === BODY_CHUNKED) {
      this.#state = S_CHUNK_SIZE;
      this.#line = '';
      this.#lineBytes = 0;
    } else this.#state = S_UNTIL_CLOSE;
  }

  #readLength(call: UpstreamCall, buf: Buffer, pos: number): number {
    const n = Math.min(this.#remaining, buf.length - pos);
    this.#remaining -= n;
    const end = pos + n;
    this.#deliver(call, pos === 0 && end === buf.length ? buf : buf.subarray(pos, end));
    if (this.#remaining === 0 && this.call === call) this.#complete(call, end < buf.length);
    return end;
  }

  #deliver(call: UpstreamCall, chunk: Buffer): void {
    this.deadline = performance.now() + this.#bodyTimeoutMs();
    call.handler.onResponseData(call, chunk);
  }

  /**
   * Gathers one line ending in LF from `pos`, across reads, into #line; false until it is whole
   * (or when it is too long, which fails the connection). Sets #next to where reading goes on.
   */
  #gatherLine(buf: Buffer, pos: number): boolean {
    const lf = buf.indexOf(10, pos);
    const end = lf < 0 ? buf.length : lf + 1;
    this.#next = end;
    this.#lineBytes += end - pos;
    if (this.#lineBytes > MAX_LINE_BYTES) {
      this.fail(new UpstreamError(UPSTREAM_BAD_RESPONSE, 'an upstream chunk-size or trailer line is too long'));
      this.#next = buf.length;
      return false;
    }
    this.#line += buf.toString('latin1', pos, end);
    return lf >= 0;
  }

  #takeLine(): string {
    const line = this.#line;
    this.#line = '';
    this.#lineBytes = 0;
    return line;
  }

  /** `1*HEXDIG [ chunk-ext ] CRLF`. */
  #readChunkSize(buf: Buffer, pos: number): number {
    if (!this.#gatherLine(buf, pos)) return this.#next;
    const line = this.#takeLine();
    const size = chunkSize(line);
    if (size < 0) {
      this.fail(new UpstreamError(UPSTREAM_BAD_RESPONSE, `invalid upstream chunk size line ${JSON.stringify(line.slice(0, 32))}`));
      return buf.length;
    }
    if (size === 0) this.#state = S_TRAILERS;
    else {
      this.#state = S_CHUNK_DATA;
      this.#remaining = size;
    }
    return this.#next;
  }

  #readChunkData(call: UpstreamCall, buf: Buffer, pos: number): number {
    const n = Math.min(this.#remaining, buf.length - pos);
    this.#remaining -= n;
    const end = pos + n;
    if (this.#remaining === 0) {
      this.#state = S_CHUNK_END;
      this.#remaining = 2;
    }
    this.#deliver(call, buf.subarray(pos, end));
    return end;
  }

  /** The CRLF after a chunk's data, possibly split across reads. */
  #readChunkEnd(buf: Buffer, pos: number): number {
    while (this.#remaining > 0 && pos < buf.length) {
      const want = this.#remaining === 2 ? 13 : 10;
      if (buf[pos] !== want) {
        this.fail(new UpstreamError(UPSTREAM_BAD_RESPONSE, 'an upstream chunk without its CRLF'));
        return buf.length;
      }
      this.#remaining--;
      pos++;
    }
    if (this.#remaining === 0) {
      this.#state = S_CHUNK_SIZE;
      this.#line = '';
      this.#lineBytes = 0;
    }
    return pos;
  }

  /** Trailer fields after the last chunk are read and dropped, up to the empty line. */
  #readTrailers(call: UpstreamCall, buf: Buffer, pos: number): number {
    if (!this.#gatherLine(buf, pos)) return this.#next;
    const line = this.#takeLine();
    const next = this.#next;
    if (!line.endsWith('\r\n')) {
      this.fail(new UpstreamError(UPSTREAM_BAD_RESPONSE, 'an upstream trailer line without CRLF'));
      return buf.length;
    }
    if (line.length === 2) this.#complete(call, next < buf.length);
    return next;
  }

  /** The response is whole: the connection goes back to the pool (or closes), then the handler hears of it. */
  #complete(call: UpstreamCall, moreBytes: boolean): void {
    this.#state = S_IDLE;
    this.call = null;
    const paused = call.paused;
    call.finish();
    if (this.#keepAlive && !moreBytes && call.bodyDone && !this.dead) {
      if (paused) this.socket.resume();
      this.owner.release(this);
    } else this.close();
    call.handler.onResponseEnd(call);
  }
}

/** The size of a chunk-size line, -1 when it is not `1*HEXDIG [ chunk-ext ] CRLF`. */
function chunkSize(line: string): number {
  if (line.length < 3 || !line.endsWith('\r\n')) return -1;
  let size = 0;
  let i = 0;
  let digits = 0;
  for (; i < line.length - 2; i++) {
    const c = line.charCodeAt(i);
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : (c | 0x20) >= 0x61 && (c | 0x20) <= 0x66 ? (c | 0x20) - 0x57 : -1;
    if (d < 0) break;
    if (size > 0 || d > 0) digits++;
    if (digits > 13) return -1; // beyond 2^52: no body is that large
    size = size * 16 + d;
  }
  if (i === 0) return -1;
  // The rest may only be chunk extensions (`;name=value`, after optional whitespace).
  const rest = line.slice(i, -2).trimStart();
  if (rest !== '' && !rest.startsWith(';')) return -1;
  if (rest.includes('\r') || rest.includes('\n')) return -1;
  return size;
}

