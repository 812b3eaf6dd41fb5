// The hot path: one proxied request, as an upstream handler (upstream/types.ts); changes here are measured.
// Listeners on the client response are module-level functions that find the exchange through a
// symbol, so a request allocates no closures.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BackendState } from './backend-state.ts';
import {
  PRX_ERR_REQUEST_TOO_LARGE, PRX_ERR_UPSTREAM_CONNECT, PRX_ERR_UPSTREAM_RESET, PRX_ERR_UPSTREAM_TIMEOUT,
  publishProxyError, publishProxyRetry, sendStatus, statusHeaders, type ProxyErrorCode,
} from './errors.ts';
import { untriedEndpoint, type ChoiceState } from './balancer.ts';
import { answerHeaders } from './filters/answer-headers.ts';
import type { RouteExtras } from './filters/route-extras.ts';
import { downstreamResponseHeaders, type RequestHead } from './headers.ts';
import { attemptOutcome, OUTCOME_NEUTRAL } from './health/outlier-detector.ts';
import type { Endpoint, PickContext, Session, SessionPersistence } from './lb/index.ts';
import type { BindRef } from './proxy.ts';
import { appendSessionHeaders } from './sessions.ts';
import {
  REQUEST_BODY_FAILED, UPSTREAM_BODY_TIMEOUT, UPSTREAM_CLOSED, UPSTREAM_CONNECT_TIMEOUT, UPSTREAM_HEADERS_TIMEOUT,
  UPSTREAM_POOL_CLOSED, type UpstreamController, type UpstreamHandler, type UpstreamRequest,
} from './upstream/types.ts';
import type { UpstreamPools } from './upstream-pools.ts';

const kExchange = Symbol('waygate.exchange');
type Tagged = { [kExchange]?: Exchange };

/** Overwritten for every pick, so that picks allocate nothing (hash key and sticky cookie). */
export const PICK_CONTEXT: PickContext = { hash: undefined, sticky: undefined };
/** Overwritten for every onEnd; balancers read it and keep nothing of it. */
const RESULT = { latencyMs: 0, ok: true };

export class Exchange implements UpstreamHandler, RequestHead {
  host: string | undefined = undefined;
  contentLength = -1;
  chunked = false;

  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The bind the request arrived on; its responses say `Connection: close` once it drains. */
  readonly bind: BindRef;
  routeName = '';
  backend: BackendState | undefined = undefined;
  /** The request's sticky cookie value, when its backend is sticky. */
  sticky: string | undefined = undefined;
  /** The rule's session persistence, and the valid session the request carried. */
  persistence: SessionPersistence | undefined = undefined;
  session: Session | undefined = undefined;
  /** The endpoint of the current attempt. */
  endpoint: Endpoint | undefined = undefined;
  pools: UpstreamPools | undefined = undefined;
  options: UpstreamRequest | undefined = undefined;
  /** Set by onRequestStart: this attempt's request head is being written to a connection. */
  controller: UpstreamController | null = null;
  /** The current attempt, from its dispatch on: aborts it even while its connection opens. */
  call: UpstreamController | null = null;
  attempts = 0;
  /** Retries the backend's retry policy asked for (5xx answers, per-try timeouts). */
  policyRetries = 0;
  /** The current attempt's 5xx answer is read and dropped; the request then goes to `pending`. */
  discarding = false;
  pending: Endpoint | undefined = undefined;
  /** Endpoints an attempt failed on; a retry never picks them. */
  failed: Endpoint | undefined = undefined;
  failedMore: Endpoint[] | undefined = undefined;
  /** The current attempt's balancer feedback is still owed (onStart called, onEnd not yet). */
  inAttempt = false;
  attemptStart = 0;
  /** Time to the response head, -1 before it. */
  latencyMs = -1;
  /** Balancer feedback for the current attempt: false on a 5xx, a failure or a timeout. */
  attemptOk = true;
  /** The current attempt's response status, 0 before its head. */
  attemptStatus = 0;
  /** The response head was passed to the client. */
  started = false;
  done = false;
  drainHooked = false;
  bodyLimit = 0;
  bodyBytes = 0;
  timer: NodeJS.Timeout | undefined = undefined;
  /** The route's filters, redirect, per-attempt timeout and retry; undefined for a plain route. */
  extras: RouteExtras | undefined = undefined;
  /** The weighted choice taken (its backendRef filters), when the route has extras. */
  choice: ChoiceState | undefined = undefined;
  /** The request's Origin, read when the route has a CORS filter. */
  origin: string | undefined = undefined;
  /** timeouts.backendRequest, 0 for none, and the current attempt's timer. */
  backendTimeoutMs = 0;
  attemptTimer: NodeJS.Timeout | undefined = undefined;
  /** Retries HTTPRouteRule.retry asked for, and the wait before the pending one. */
  routeRetries = 0;
  retryDelayMs = 0;

  constructor(req: IncomingMessage, res: ServerResponse, bind: BindRef) {
    this.req = req;
    this.res = res;
    this.bind = bind;
  }

  /** Sends the request to `endpoint` of `backend`. */
  forward(pools: UpstreamPools, backend: BackendState, endpoint: Endpoint, options: UpstreamRequest, timeoutMs: number): void {
    this.pools = pools;
    this.backend = backend;
    this.options = options;
    const perTry = backend.retries?.perTryTimeoutMs;
    if (perTry !== undefined) options.headersTimeout = perTry;
    (this.res as Tagged)[kExchange] = this;
    this.res.on('close', onClientClose);
    if (timeoutMs > 0) this.timer = setTimeout(onRouteTimeout, timeoutMs, this);
    this.dispatch(endpoint);
  }

  /** One attempt; the pool ends it with exactly one of onResponseEnd and onResponseError. */
  dispatch(endpoint: Endpoint): void {
    const backend = this.backend!;
    this.endpoint = endpoint;
    this.attempts++;
    this.controller = null;
    this.latencyMs = -1;
    this.attemptOk = true;
    this.attemptStatus = 0;
    let pool = backend.pools.get(endpoint.key);
    // A retry or a draining bind may run on a config whose pool the live config let go.
    if (pool === undefined || pool.closed || pool.destroyed) pool = this.pools!.transient(endpoint.key);
    backend.balancer.onStart(endpoint);
    this.inAttempt = true;
    this.attemptStart = performance.now();
    if (this.backendTimeoutMs > 0) this.attemptTimer = setTimeout(onAttemptTimeout, this.backendTimeoutMs, this);
    this.call = pool.dispatch(this.options!, this);
  }

  /** Balancer feedback and outlier detection for the current attempt, once; `counts` false keeps it from outlier detection. */
  endAttempt(ok: boolean, counts = true): void {
    if (!this.inAttempt) return;
    this.inAttempt = false;
    if (this.attemptTimer !== undefined) {
      clearTimeout(this.attemptTimer);
      this.attemptTimer = undefined;
    }
    RESULT.ok = ok;
    RESULT.latencyMs = this.latencyMs >= 0 ? this.latencyMs : performance.now() - this.attemptStart;
    this.backend!.onEnd(this.endpoint!, RESULT, counts ? attemptOutcome(ok, this.attemptStatus) : OUTCOME_NEUTRAL);
  }

  onRequestStart(controller: UpstreamController): void {
    this.controller = controller;
    if (this.done) controller.abort(new Error('request finished'));
  }

  /** Counts a streamed (chunked) request body; a declared Content-Length was checked up front. */
  onBodySent(chunk: Buffer): void {
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.bodyLimit && !this.done) this.fail(PRX_ERR_REQUEST_TOO_LARGE, 413, 'request body too large');
  }

  onResponseStart(controller: UpstreamController, statusCode: number, headers: string[]): void {
    this.latencyMs = performance.now() - this.attemptStart;
    this.attemptOk = statusCode < 500;
    this.attemptStatus = statusCode;
    if (this.done) return;
    if (statusCode >= 400 && this.extras !== undefined && retriesCode(this.extras, statusCode)) {
      const next = this.routeRetry(true);
      if (next !== undefined) {
        this.discarding = true;
        this.pending = next;
        return;
      }
    }
    if (statusCode >= 500 && this.backend!.retries !== undefined) {
      const next = this.policyRetry(statusCode);
      if (next !== undefined) {
        this.discarding = true;
        this.pending = next;
        return;
      }
    }
    this.started = true;
    let out = downstreamResponseHeaders(headers, this.bind.draining);
    if (this.persistence !== undefined || this.backend!.sticky !== undefined) this.addSessionHeaders(out);
    if (this.extras !== undefined) out = answerHeaders(this, out);
    this.res.writeHead(statusCode, out);
  }

  /** The sticky cookie and the session token of the endpoint that answered, when the client lacks them or they need renewal. */
  addSessionHeaders(out: string[]): void {
    PICK_CONTEXT.sticky = this.sticky;
    appendSessionHeaders(out, this.backend!, this.endpoint!, PICK_CONTEXT, this.persistence, this.session);
  }

  onResponseData(controller: UpstreamController, chunk: Buffer): void {
    if (this.done || this.discarding) return;
    if (!this.res.write(chunk)) {
      // The client reads slower than the upstream sends: stop reading the upstream until drain.
      controller.pause();
      if (!this.drainHooked) {
        this.drainHooked = true;
        this.res.on('drain', onClientDrain);
      }
    }
  }

  onResponseEnd(): void {
    this.endAttempt(this.attemptOk);
    if (this.done) return;
    if (this.discarding) return this.redispatch(`HTTP_${this.attemptStatus}`);
    this.settle();
    this.res.end();
  }

  onResponseError(controller: UpstreamController | null, err: Error): void {
    if (this.done) {
      // Our own abort (route timeout, client gone, body too large): fail() or the abort set attemptOk.
      this.endAttempt(this.attemptOk);
      return;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (this.discarding) {
      // The dropped 5xx answer did not end well either: the retry goes ahead.
      this.endAttempt(false);
      return this.redispatch(`HTTP_${this.attemptStatus}`);
    }
    const clientSide = code === REQUEST_BODY_FAILED;
    if (!clientSide && this.retry(code)) return;
    if (!clientSide && this.extras?.retry !== undefined && (code === BACKEND_TIMEOUT || isConnectionError(code))) {
      // HTTPRouteRule.retry: a connection failure or a backendRequest timeout is retried too;
      // an endpoint cut before its connection opened never answered, so the retry moves on.
      this.pending = this.routeRetry(code === BACKEND_TIMEOUT && this.controller !== null);
      if (this.pending !== undefined) {
        this.endAttempt(false);
        return this.redispatch(code!);
      }
    }
    if (code === UPSTREAM_HEADERS_TIMEOUT && this.backend!.retries !== undefined) {
      // The per-try timeout (or the upstream headers timeout) counts as a 504 for the policy.
      this.pending = this.policyRetry(504);
      if (this.pending !== undefined) {
        this.endAttempt(false);
        return this.redispatch(code);
      }
    }
    this.endAttempt(clientSide);
    if (isTimeout(code)) this.fail(PRX_ERR_UPSTREAM_TIMEOUT, 504, err.message);
    else if (this.controller === null && isConnectionError(code)) this.fail(PRX_ERR_UPSTREAM_CONNECT, 502, err.message);
    else if (clientSide) {
      // The client's body ended early or the client went away: nothing useful to answer.
      this.settle();
      this.res.destroy();
    } else this.fail(PRX_ERR_UPSTREAM_RESET, 502, err.message);
  }

  /**
   * Retries the request on another endpoint when that is safe (architecture rule 4): always
   * when the attempt failed before its head was written (connection refused, reset or timed
   * out while connecting) and the request body, if any, is untouched; and, for idempotent
   * methods only (RFC 9112 §9.3.1), when a connection closed or reset after the request head
   * was written but before any response: the upstream closing an idle keep-alive connection
   * just as it is reused, or a draining server resetting connections it never accepted. The
   * failed endpoint is never picked again; a reset (not a refusal) may retry the same endpoint
   * once on another connection when it is the only one usable.
   */
  retry(code: string | undefined): boolean {
    if (this.started || !isConnectionError(code) || !this.bodyUntouched()) return false;
    const written = this.controller !== null;
    if (written && !isIdempotent(this.options!.method)) return false;
    const failed = this.endpoint!;
    this.markFailed(failed);
    let next = this.nextEndpoint();
    if (next === undefined && written && failed.active && this.attempts === 1) next = failed;
    if (next === undefined) return false;
    // A close after the request was written, retried, is most likely the idle keep-alive race,
    // not a sick endpoint: it does not count for outlier detection (src/dataplane/README.md).
    this.endAttempt(false, !written);
    publishProxyRetry(this.bind.name, this.routeName, failed.key, code!, written, this.attempts + 1);
    if (written) this.options!.fresh = true;
    this.dispatch(next);
    return true;
  }

  /**
   * The next endpoint when the backend's retry policy (BackendTrafficPolicy `retries`) asks to
   * retry an answer of `status` (a 5xx, or 504 for a per-try timeout): `5xx` retries any,
   * `gateway-error` 502 to 504; idempotent requests only, their body untouched, each retry on an
   * endpoint that did not fail the request, at most `attempts` of them.
   */
  policyRetry(status: number): Endpoint | undefined {
    const p = this.backend!.retries;
    if (p === undefined || this.policyRetries >= p.attempts || this.started) return undefined;
    const wanted = p.retryOn.includes('5xx') || (status >= 502 && status <= 504 && p.retryOn.includes('gateway-error'));
    if (!wanted || !isIdempotent(this.options!.method) || !this.bodyUntouched()) return undefined;
    this.markFailed(this.endpoint!);
    const next = this.nextEndpoint();
    if (next !== undefined) this.policyRetries++;
    return next;
  }

  /**
   * HTTPRouteRule.retry: the endpoint for the next attempt, when the rule allows one more. An
   * endpoint that answered (a listed code, or too late for backendRequest) is alive, and `stay`
   * retries it while it is still in use: the retries of a request meet one server's state (a
   * server that fails a request n times before it succeeds gets its n + 1 tries). A connection
   * failure moves to an endpoint that did not fail the request, else to any (a Service with one
   * pod is retried on it). Only requests whose body can be sent again, which means none was read (bodies are
   * streamed, never buffered: see src/dataplane/README.md). Sets the backoff.
   */
  routeRetry(stay: boolean): Endpoint | undefined {
    const r = this.extras!.retry!;
    if (this.routeRetries >= r.attempts || this.started || !this.bodyUntouched()) return undefined;
    const failed = this.endpoint!;
    let next: Endpoint | undefined = failed;
    if (!stay || !failed.active) {
      this.markFailed(failed);
      next = this.nextEndpoint() ?? this.backend!.balancer.pick(PICK_CONTEXT);
    }
    if (next === undefined) return undefined;
    this.routeRetries++;
    this.retryDelayMs = r.backoffMs;
    return next;
  }

  /** Sends the request to `pending` after a retry was decided, after the route's backoff if any. */
  redispatch(code: string): void {
    const next = this.pending!;
    this.discarding = false;
    this.pending = undefined;
    publishProxyRetry(this.bind.name, this.routeName, this.endpoint!.key, code, true, this.attempts + 1);
    const delay = this.retryDelayMs;
    if (delay > 0) {
      // Never beyond timeouts.request: its timer still runs, and settle() clears this one.
      this.retryDelayMs = 0;
      this.endpoint = next;
      this.attemptTimer = setTimeout(onBackoffEnd, delay, this);
      return;
    }
    this.dispatch(next);
  }

  /** The request body can be sent again: none, read whole (a route with retry), or no byte of it read yet. */
  bodyUntouched(): boolean {
    const body = this.options!.body;
    return body == null || Buffer.isBuffer(body) || (this.bodyBytes === 0 && !this.req.readableDidRead);
  }

  markFailed(endpoint: Endpoint): void {
    if (this.failed === undefined) this.failed = endpoint;
    else (this.failedMore ??= []).push(endpoint);
  }

  hasFailed(endpoint: Endpoint): boolean {
    return endpoint === this.failed || (this.failedMore !== undefined && this.failedMore.includes(endpoint));
  }

  /** A usable endpoint no attempt failed on, from the balancer's newest endpoints. */
  nextEndpoint(): Endpoint | undefined {
    PICK_CONTEXT.hash = undefined;
    PICK_CONTEXT.sticky = undefined;
    return untriedEndpoint(this.backend!.balancer, PICK_CONTEXT, (e) => this.hasFailed(e));
  }

  /** Ends the exchange with an error: a status if nothing was sent yet, else a cut response. */
  fail(code: ProxyErrorCode, status: number, message: string): void {
    if (this.done) return;
    this.settle();
    this.call?.abort(new Error(message));
    const sent = this.started || this.res.headersSent;
    publishProxyError(code, sent ? 0 : status, this.bind.name, this.routeName, this.endpoint?.key, message);
    if (sent) this.res.destroy();
    else sendStatus(this.res, status, this.bind.draining || this.options?.body != null, this.ownAnswerHeaders(status));
  }

  /** The head of Waygate's own answer with `status`: with the route's CORS and response modifiers, if any. */
  ownAnswerHeaders(status: number): string[] | undefined {
    return this.extras === undefined ? undefined : answerHeaders(this, statusHeaders(status));
  }

  settle(): void {
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.attemptTimer !== undefined) clearTimeout(this.attemptTimer);
  }
}

/** The connection failed or closed under the request, as opposed to a timeout or a client abort. */
function isConnectionError(code: string | undefined): boolean {
  switch (code) {
    case 'ECONNREFUSED': case 'ECONNRESET': case 'EPIPE': case 'ECONNABORTED': case UPSTREAM_CLOSED:
    case UPSTREAM_CONNECT_TIMEOUT: case 'ETIMEDOUT': case 'EHOSTUNREACH': case 'ENETUNREACH': case 'EHOSTDOWN':
    case 'EADDRNOTAVAIL': case 'ENOTFOUND': case UPSTREAM_POOL_CLOSED:
      return true;
    default:
      return false;
  }
}

/** RFC 9110 §9.2.2. */
function isIdempotent(method: string): boolean {
  switch (method) {
    case 'GET': case 'HEAD': case 'OPTIONS': case 'TRACE': case 'PUT': case 'DELETE':
      return true;
    default:
      return false;
  }
}

function onClientClose(this: ServerResponse): void {
  const ex = (this as Tagged)[kExchange];
  if (ex === undefined || ex.done) return;
  // The client went away before the response ended: stop the upstream request.
  ex.settle();
  ex.call?.abort(new Error('client closed'));
}

function onClientDrain(this: ServerResponse): void {
  (this as Tagged)[kExchange]?.controller?.resume();
}

/** The pool's upstream timeouts, or timeouts.backendRequest. */
function isTimeout(code: string | undefined): boolean {
  return code === UPSTREAM_HEADERS_TIMEOUT || code === UPSTREAM_BODY_TIMEOUT || code === BACKEND_TIMEOUT;
}

/** HTTPRouteRule.retry lists `status` among its codes. */
function retriesCode(extras: RouteExtras, status: number): boolean {
  return extras.retry !== undefined && extras.retry.codes.includes(status);
}

/** The error code of an attempt cut by timeouts.backendRequest. */
const BACKEND_TIMEOUT = 'WAYGATE_BACKEND_REQUEST_TIMEOUT';

/**
 * timeouts.backendRequest: the attempt is cut, also while its connection is still opening; the
 * abort comes back through onResponseError, which retries or answers 504. A response already
 * passed to the client is cut.
 */
function onAttemptTimeout(ex: Exchange): void {
  ex.attemptTimer = undefined;
  if (ex.done) return;
  ex.attemptOk = false;
  if (ex.started) return ex.fail(PRX_ERR_UPSTREAM_TIMEOUT, 504, 'backend request timeout');
  const err = Object.assign(new Error('backend request timeout'), { code: BACKEND_TIMEOUT });
  ex.call!.abort(err);
}

function onBackoffEnd(ex: Exchange): void {
  ex.attemptTimer = undefined;
  if (!ex.done) ex.dispatch(ex.endpoint!);
}

function onRouteTimeout(ex: Exchange): void {
  ex.timer = undefined;
  ex.attemptOk = false;
  ex.fail(PRX_ERR_UPSTREAM_TIMEOUT, 504, 'route timeout');
}

