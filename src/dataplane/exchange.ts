// The hot path: one proxied request, as an undici dispatch handler; changes here are measured.
// Listeners on the client response are module-level functions that find the exchange through a
// symbol, so a request allocates no closures.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { pickEndpoint, type BackendState, type EndpointState } from './balancer.ts';
import {
  PRX_ERR_REQUEST_TOO_LARGE, PRX_ERR_UPSTREAM_CONNECT, PRX_ERR_UPSTREAM_RESET, PRX_ERR_UPSTREAM_TIMEOUT,
  publishProxyError, sendStatus, type ProxyErrorCode,
} from './errors.ts';
import { downstreamResponseHeaders, type RequestHead } from './headers.ts';
import type { BindRef } from './proxy.ts';
import type { UpstreamPools } from './upstream-pools.ts';

const kExchange = Symbol('waygate.exchange');
type Tagged = { [kExchange]?: Exchange };

type DispatchController = Dispatcher.DispatchController;

export class Exchange implements Dispatcher.DispatchHandler, RequestHead {
  host: string | undefined = undefined;
  contentLength = -1;
  chunked = false;

  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The bind the request arrived on; its responses say `Connection: close` once it drains. */
  readonly bind: BindRef;
  routeName = '';
  backend: BackendState | undefined = undefined;
  endpoint: EndpointState | undefined = undefined;
  pools: UpstreamPools | undefined = undefined;
  options: Dispatcher.DispatchOptions | undefined = undefined;
  controller: DispatchController | null = null;
  attempts = 0;
  retriable = false;
  started = false;
  done = false;
  drainHooked = false;
  bodyLimit = 0;
  bodyBytes = 0;
  timer: NodeJS.Timeout | undefined = undefined;

  constructor(req: IncomingMessage, res: ServerResponse, bind: BindRef) {
    this.req = req;
    this.res = res;
    this.bind = bind;
  }

  /** Sends the request to the backend's next endpoint. */
  forward(pools: UpstreamPools, backend: BackendState, endpoint: EndpointState, options: Dispatcher.DispatchOptions, timeoutMs: number): void {
    this.pools = pools;
    this.backend = backend;
    this.options = options;
    this.retriable = options.body == null;
    (this.res as Tagged)[kExchange] = this;
    this.res.on('close', onClientClose);
    if (timeoutMs > 0) this.timer = setTimeout(onRouteTimeout, timeoutMs, this);
    this.dispatch(endpoint);
  }

  dispatch(endpoint: EndpointState): void {
    this.endpoint = endpoint;
    this.attempts++;
    let pool = endpoint.pool;
    // A retry or a draining bind may run on a config whose pool the live config let go.
    if (pool.closed || pool.destroyed) pool = this.pools!.transient(endpoint.key);
    pool.dispatch(this.options!, this);
  }

  onRequestStart(controller: DispatchController): void {
    if (this.done) {
      controller.abort(new Error('request finished'));
      return;
    }
    this.controller = controller;
  }

  /** Counts a streamed (chunked) request body; a declared Content-Length was checked up front. */
  onBodySent(chunk: Buffer | string): void {
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > this.bodyLimit && !this.done) this.fail(PRX_ERR_REQUEST_TOO_LARGE, 413, 'request body too large');
  }

  onResponseStart(controller: DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    if (this.done) return;
    this.started = true;
    this.res.writeHead(statusCode, downstreamResponseHeaders(headers, this.bind.draining));
  }

  onResponseData(controller: DispatchController, chunk: Buffer): void {
    if (this.done) return;
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
    if (this.done) return;
    this.settle();
    this.res.end();
  }

  onResponseError(controller: DispatchController | null, err: Error): void {
    if (this.done) return;
    const code = (err as NodeJS.ErrnoException).code;
    if (!this.started && this.retriable && isRetriable(code) && this.attempts <= this.backend!.endpoints.length) {
      const next = pickEndpoint(this.backend!);
      if (next !== undefined) {
        this.controller = null;
        this.dispatch(next);
        return;
      }
    }
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') this.fail(PRX_ERR_UPSTREAM_TIMEOUT, 504, err.message);
    else if (code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND') {
      this.fail(PRX_ERR_UPSTREAM_CONNECT, 502, err.message);
    } else if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH' || code === 'UND_ERR_ABORTED') {
      // The client's body ended early or the client went away: nothing useful to answer.
      this.settle();
      this.res.destroy();
    } else this.fail(PRX_ERR_UPSTREAM_RESET, 502, err.message);
  }

  /** Ends the exchange with an error: a status if nothing was sent yet, else a cut response. */
  fail(code: ProxyErrorCode, status: number, message: string): void {
    if (this.done) return;
    this.settle();
    this.controller?.abort(new Error(message));
    const sent = this.started || this.res.headersSent;
    publishProxyError(code, sent ? 0 : status, this.bind.name, this.routeName, this.endpoint?.key, message);
    if (sent) this.res.destroy();
    else sendStatus(this.res, status, this.bind.draining || this.options?.body != null);
  }

  settle(): void {
    this.done = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

function isRetriable(code: string | undefined): boolean {
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'UND_ERR_CLOSED' || code === 'UND_ERR_DESTROYED';
}

function onClientClose(this: ServerResponse): void {
  const ex = (this as Tagged)[kExchange];
  if (ex === undefined || ex.done) return;
  // The client went away before the response ended: stop the upstream request.
  ex.settle();
  ex.controller?.abort(new Error('client closed'));
}

function onClientDrain(this: ServerResponse): void {
  (this as Tagged)[kExchange]?.controller?.resume();
}

function onRouteTimeout(ex: Exchange): void {
  ex.timer = undefined;
  ex.fail(PRX_ERR_UPSTREAM_TIMEOUT, 504, 'route timeout');
}

