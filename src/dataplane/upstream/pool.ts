// The hot path: the kept-alive HTTP/1.1 connections to one endpoint; changes here are measured.
// As many connections as requests in flight (no queue, no pipelining); idle ones are reused
// newest first, so a quiet endpoint's extra connections age out.
import { hostPort } from '../../util/index.ts';
import { UpstreamCall } from './call.ts';
import { UpstreamConnection, type ConnectionOwner } from './connection.ts';
import { HEAD_INFO, requestHead } from './request-head.ts';
import { DeadlineSweep, NO_DEADLINE } from './sweep.ts';
import { REQUEST_INVALID, UPSTREAM_POOL_CLOSED, UpstreamError, type PoolOptions, type UpstreamController, type UpstreamHandler, type UpstreamRequest } from './types.ts';

export class EndpointPool implements ConnectionOwner {
  readonly options: PoolOptions;
  readonly #address: string;
  readonly #port: number;
  /** The Host header of a request that has none. */
  readonly #host: string;
  readonly #sweep: DeadlineSweep;
  readonly #all = new Set<UpstreamConnection>();
  readonly #idle: UpstreamConnection[] = [];
  #closed = false;
  #destroyed = false;
  #drained: (() => void) | undefined = undefined;
  #drainedPromise: Promise<void> | undefined = undefined;

  /** `sweep`: shared by the pools of a data plane; a pool without one has its own. */
  constructor(address: string, port: number, options: PoolOptions, sweep?: DeadlineSweep) {
    this.options = options;
    this.#address = address;
    this.#port = port;
    this.#host = hostPort(address, port);
    this.#sweep = sweep ?? new DeadlineSweep(poolTimeouts(options));
  }

  get closed(): boolean {
    return this.#closed;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Open connections, busy and idle. */
  get size(): number {
    return this.#all.size;
  }

  get idle(): number {
    return this.#idle.length;
  }

  /**
   * Sends `request`; every outcome, failures included, reaches `handler` (never thrown). The
   * controller returned can abort the request before its head is written too (while connecting).
   */
  dispatch(request: UpstreamRequest, handler: UpstreamHandler): UpstreamController {
    const call = new UpstreamCall(handler, request);
    if (this.#closed) return failSoon(call, new UpstreamError(UPSTREAM_POOL_CLOSED, `the pool of ${this.#host} is closed`));
    const head = requestHead(request.method, request.path, request.headers, this.#host, request.body);
    if (head === undefined) return failSoon(call, new UpstreamError(REQUEST_INVALID, 'the request head cannot be sent as given (a CR, LF or NUL in it, or a bad method or path)'));
    call.head = head;
    call.bodyRemaining = HEAD_INFO.contentLength;
    call.chunked = HEAD_INFO.chunked;
    if (request.body !== null && !Buffer.isBuffer(request.body)) call.watchBody(request.body);
    let conn = request.fresh === true ? undefined : this.#idle.pop();
    while (conn !== undefined && (conn.dead || conn.socket.readableEnded)) conn = this.#idle.pop();
    if (conn === undefined) {
      conn = new UpstreamConnection(this, this.#address, this.#port);
      this.#all.add(conn);
      this.#sweep.add(conn);
    } else conn.deadlineKind = NO_DEADLINE;
    conn.start(call);
    return call;
  }

  release(conn: UpstreamConnection): void {
    if (this.#closed) return conn.close();
    conn.idle();
    this.#idle.push(conn);
  }

  remove(conn: UpstreamConnection): void {
    this.#all.delete(conn);
    this.#sweep.delete(conn);
    const i = this.#idle.lastIndexOf(conn);
    if (i >= 0) this.#idle.splice(i, 1);
    if (this.#all.size === 0 && this.#drained !== undefined) {
      this.#drained();
      this.#drained = undefined;
    }
  }

  /** Stops taking requests; idle connections close now, busy ones after their response. */
  close(): Promise<void> {
    if (this.#drainedPromise !== undefined) return this.#drainedPromise;
    this.#closed = true;
    for (const conn of [...this.#idle]) conn.close();
    this.#drainedPromise = this.#all.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => (this.#drained = resolve));
    return this.#drainedPromise;
  }

  /** Cuts every connection; requests in flight end with an error. */
  destroy(): Promise<void> {
    this.#destroyed = true;
    const closing = this.close();
    const err = new UpstreamError(UPSTREAM_POOL_CLOSED, `the pool of ${this.#host} was destroyed`);
    for (const conn of [...this.#all]) conn.fail(err);
    return closing;
  }
}

/** Errors reach the handler after dispatch returned, as every other outcome does. */
function failSoon(call: UpstreamCall, err: Error): UpstreamCall {
  queueMicrotask(() => call.fail(err));
  return call;
}

/** The timeouts of a pool's connections, for the sweep that checks them. */
export function poolTimeouts(o: PoolOptions): number[] {
  return [o.connectTimeoutMs, o.headersTimeoutMs, o.bodyTimeoutMs, o.keepAliveTimeoutMs];
}
