// What the upstream HTTP/1.1 client takes and calls: a request, a handler for its answer, and a
// controller the handler uses to pause, resume or abort it.
import type { Readable } from 'node:stream';

/** One request to an endpoint. `headers` is a flat name/value array, sent as given. */
export interface UpstreamRequest {
  readonly path: string;
  readonly method: string;
  readonly headers: readonly string[];
  /**
   * null: no body (`content-length: 0` is added for POST, PUT and PATCH); a Buffer: sent whole
   * with its own Content-Length; a stream: sent as it is read, with the Content-Length the
   * headers declare, else chunked.
   */
  readonly body: Buffer | Readable | null;
  /** Overrides the pool's time to the response head for this request (a per-try timeout), in ms. */
  headersTimeout?: number;
  /** Overrides the pool's longest pause between two chunks of the response body, in ms. */
  bodyTimeout?: number;
  /**
   * Send on a new connection, never an idle one: the retry of a request whose kept-alive
   * connection closed under it must not meet the same race again.
   */
  fresh?: boolean;
}

/** Handed to every handler callback; valid for one request only (later calls do nothing). */
export interface UpstreamController {
  /** Stops reading the response until resume(): the upstream is slowed by TCP backpressure. */
  pause(): void;
  resume(): void;
  /** Ends the request: its connection is closed and onResponseError gets `reason`, unless it already ended. */
  abort(reason: Error): void;
}

/**
 * The callbacks of one request. Exactly one of onResponseEnd and onResponseError ends it.
 * onRequestStart comes when the request head is about to be written to a connection: an error
 * before it means nothing of the request left this process.
 */
export interface UpstreamHandler {
  onRequestStart(controller: UpstreamController): void;
  /** A chunk of a streamed request body was written. */
  onBodySent(chunk: Buffer): void;
  /** `headers`: the response's header lines as a flat name/value array, names as the upstream wrote them. */
  onResponseStart(controller: UpstreamController, statusCode: number, headers: string[]): void;
  onResponseData(controller: UpstreamController, chunk: Buffer): void;
  onResponseEnd(controller: UpstreamController): void;
  onResponseError(controller: UpstreamController, err: Error): void;
}

/** The error codes of the client's own failures; socket errors keep their errno code (`ECONNREFUSED`, ...). */
export const UPSTREAM_CONNECT_TIMEOUT = 'UPSTREAM_CONNECT_TIMEOUT';
export const UPSTREAM_HEADERS_TIMEOUT = 'UPSTREAM_HEADERS_TIMEOUT';
export const UPSTREAM_BODY_TIMEOUT = 'UPSTREAM_BODY_TIMEOUT';
/** The upstream closed the connection before the response was complete. */
export const UPSTREAM_CLOSED = 'UPSTREAM_CLOSED';
/** The upstream's answer is not valid HTTP/1.1 (or its head is too large). */
export const UPSTREAM_BAD_RESPONSE = 'UPSTREAM_BAD_RESPONSE';
/** The pool was closed or destroyed before the request could be sent. */
export const UPSTREAM_POOL_CLOSED = 'UPSTREAM_POOL_CLOSED';
/** The request's own body failed: its stream errored, or its length differs from its Content-Length. */
export const REQUEST_BODY_FAILED = 'REQUEST_BODY_FAILED';
/** A request head that cannot be sent as given (a CR or LF in a value, a bad method or path). */
export const REQUEST_INVALID = 'REQUEST_INVALID';

export type UpstreamErrorCode =
  | typeof UPSTREAM_CONNECT_TIMEOUT | typeof UPSTREAM_HEADERS_TIMEOUT | typeof UPSTREAM_BODY_TIMEOUT
  | typeof UPSTREAM_CLOSED | typeof UPSTREAM_BAD_RESPONSE | typeof UPSTREAM_POOL_CLOSED
  | typeof REQUEST_BODY_FAILED | typeof REQUEST_INVALID;

export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;
  constructor(code: UpstreamErrorCode, message: string) {
    super(message);
    this.name = 'UpstreamError';
    this.code = code;
  }
}

/** What a pool needs to know: its timeouts, in ms. */
export interface PoolOptions {
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  /** Idle time before a kept-alive connection is closed; the upstream's `Keep-Alive: timeout` hint wins if shorter. */
  readonly keepAliveTimeoutMs: number;
}
