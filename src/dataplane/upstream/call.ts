// The hot path: one upstream request and the controller its handler holds; changes here are measured.
import type { Readable } from 'node:stream';
import { REQUEST_BODY_FAILED, UPSTREAM_HEADERS_TIMEOUT, UpstreamError, type UpstreamController, type UpstreamHandler, type UpstreamRequest } from './types.ts';
import type { UpstreamConnection } from './connection.ts';
import { writeChunk } from '../http1-framing.ts';

/**
 * One request, from dispatch to its end. It is the handler's controller, so a handler that keeps
 * it after the end (a late pause, resume or abort) can never touch the connection's next request.
 */
export class UpstreamCall implements UpstreamController {
  readonly handler: UpstreamHandler;
  readonly request: UpstreamRequest;
  /** The connection carrying it, once one was chosen. */
  conn: UpstreamConnection | null = null;
  head = '';
  /** Ended: onResponseEnd or onResponseError was called (or is being called). */
  active = true;
  /** onResponseStart was called. */
  responded = false;
  paused = false;
  /** The request body was written whole (true at once for no body or a Buffer). */
  bodyDone = true;
  /** A streamed body's declared length still to come, -1 when chunked. */
  bodyRemaining = -1;
  chunked = false;
  /** The per-request headersTimeout, when the request has one. */
  timer: NodeJS.Timeout | undefined = undefined;
  /** Removes the body stream's listeners. */
  detachBody: (() => void) | undefined = undefined;

  constructor(handler: UpstreamHandler, request: UpstreamRequest) {
    this.handler = handler;
    this.request = request;
  }

  pause(): void {
    if (!this.active || this.paused || this.conn === null) return;
    this.paused = true;
    this.conn.socket.pause();
  }

  resume(): void {
    if (!this.active || !this.paused || this.conn === null) return;
    this.paused = false;
    this.conn.socket.resume();
  }

  abort(reason: Error): void {
    if (!this.active) return;
    if (this.conn !== null) this.conn.fail(reason);
    else this.fail(reason);
  }

  /** Ends the request with `err` (not on a connection, or its connection already let it go). */
  fail(err: Error): void {
    if (!this.active) return;
    this.finish();
    this.handler.onResponseError(this, err);
  }

  /** No more callbacks, timers or body listeners. */
  finish(): void {
    this.active = false;
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.detachBody !== undefined) {
      this.detachBody();
      this.detachBody = undefined;
    }
  }

  /** The request's own headersTimeout, from the moment the request was written. */
  armOwnHeadersTimeout(ms: number): void {
    this.timer = setTimeout(onOwnHeadersTimeout, ms, this);
  }

  /**
   * Watches a streamed body from dispatch on: a body that fails or closes before its end, even
   * while the connection is still being opened, fails the request (never an unhandled error).
   */
  watchBody(body: Readable): void {
    const onError = (err?: Error): void => {
      if (this.active && !this.bodyDone) this.abort(new UpstreamError(REQUEST_BODY_FAILED, `the request body failed: ${err?.message ?? 'closed before its end'}`));
    };
    const onClose = (): void => onError();
    this.bodyDone = false;
    body.on('error', onError);
    body.on('close', onClose);
    this.detachBody = () => {
      body.off('error', onError);
      body.off('close', onClose);
    };
  }

  /**
   * Streams `body` to the connection: raw with a declared length (checked), chunked otherwise;
   * paused while the socket's buffer is full. Each write renews `progress` (the connection's
   * deadline: an upstream that stops reading is not waited for forever). `done` runs once the
   * body was written whole.
   */
  streamBody(body: Readable, progress: () => void, done: () => void): void {
    const socket = this.conn!.socket;
    const onData = (data: Buffer | string): void => {
      if (!this.active) return;
      const chunk = typeof data === 'string' ? Buffer.from(data) : data;
      // An empty chunk would read as the last one of a chunked body.
      if (chunk.length === 0) return;
      if (this.bodyRemaining >= 0) {
        this.bodyRemaining -= chunk.length;
        if (this.bodyRemaining < 0) return this.abort(new UpstreamError(REQUEST_BODY_FAILED, 'the request body is longer than its Content-Length'));
      }
      let flushed: boolean;
      if (this.chunked) {
        socket.cork();
        flushed = writeChunk(socket, chunk);
        socket.uncork();
      } else flushed = socket.write(chunk);
      progress();
      this.handler.onBodySent(chunk);
      if (!flushed && this.active) body.pause();
    };
    const onDrain = (): void => {
      progress();
      body.resume();
    };
    const onEnd = (): void => {
      if (!this.active) return;
      if (this.bodyRemaining > 0) return this.abort(new UpstreamError(REQUEST_BODY_FAILED, 'the request body ended before its Content-Length'));
      if (this.chunked) socket.write('0\r\n\r\n', 'latin1');
      this.bodyDone = true;
      this.detachBody?.();
      this.detachBody = undefined;
      done();
    };
    const unwatch = this.detachBody;
    this.detachBody = () => {
      unwatch?.();
      body.off('data', onData);
      body.off('end', onEnd);
      socket.off('drain', onDrain);
    };
    progress();
    body.on('data', onData);
    body.on('end', onEnd);
    socket.on('drain', onDrain);
    if (body.isPaused()) body.resume();
  }
}

function onOwnHeadersTimeout(call: UpstreamCall): void {
  call.timer = undefined;
  if (!call.responded) call.abort(new UpstreamError(UPSTREAM_HEADERS_TIMEOUT, 'upstream response headers timeout'));
}
