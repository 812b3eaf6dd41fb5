// The upstream side of an HTTP/1.1 Upgrade (WebSocket): a connection of its own to the endpoint
// (never a pooled one), the handshake sent with node's HTTP client, and on 101 Switching
// Protocols the two sockets piped both ways until either side closes. The tunnel lives on its
// own sockets: configuration changes do not touch it; a draining bind cuts it after its grace.
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { BackendState } from './backend-state.ts';
import { untriedEndpoint } from './balancer.ts';
import {
  PRX_ERR_UPSTREAM_CONNECT, PRX_ERR_UPSTREAM_RESET, PRX_ERR_UPSTREAM_TIMEOUT, publishProxyError, publishProxyRetry, type ProxyErrorCode,
} from './errors.ts';
import { answerHeaders } from './filters/answer-headers.ts';
import { downstreamResponseHeaders } from './headers.ts';
import { attemptOutcome } from './health/outlier-detector.ts';
import type { Endpoint, PickContext } from './lb/index.ts';
import type { ProxyContext } from './proxy.ts';
import { appendSessionHeaders } from './sessions.ts';
import type { UpgradeRequest } from './upgrade.ts';
import { endpointAddress } from './upstream-pools.ts';

/** Idle time before TCP keep-alive probes start on both sockets of an open tunnel. */
const TUNNEL_KEEPALIVE_MS = 60_000;

/** Picks for retries: neither hash key nor cookie, which would name the endpoint that failed again. */
const RETRY_PICK: PickContext = { hash: undefined, sticky: undefined };

/** Sends the handshake of `up` to `endpoint` of `backend`; `timeoutMs` (timeouts.request, 0: none) bounds it until the 101. */
export function openTunnel(
  ctx: ProxyContext, up: UpgradeRequest, backend: BackendState, endpoint: Endpoint, headers: string[], url: string, timeoutMs: number,
): void {
  const tunnel = new Tunnel(ctx, up, backend, headers, url);
  if (timeoutMs > 0) tunnel.routeTimer = setTimeout(onHandshakeTimeout, timeoutMs, tunnel, 'route timeout');
  // Counted from the handshake on: a draining bind cuts a handshake still waiting as well as an open tunnel.
  const tunnels = up.bind.tunnels;
  tunnels.add(up.socket);
  up.socket.once('close', () => {
    tunnels.delete(up.socket);
    tunnel.clientClosed();
  });
  tunnel.attempt(endpoint);
}

class Tunnel {
  readonly ctx: ProxyContext;
  readonly up: UpgradeRequest;
  readonly backend: BackendState;
  readonly headers: string[];
  readonly url: string;
  endpoint: Endpoint | undefined = undefined;
  /** The current attempt's handshake request; events of earlier attempts are ignored. */
  upReq: ClientRequest | undefined = undefined;
  connected = false;
  attempts = 0;
  failed: Endpoint[] = [];
  /** The handshake ended: an answer was given or the tunnel is open. */
  done = false;
  inAttempt = false;
  attemptStart = 0;
  latencyMs = -1;
  routeTimer: NodeJS.Timeout | undefined = undefined;
  headersTimer: NodeJS.Timeout | undefined = undefined;

  constructor(ctx: ProxyContext, up: UpgradeRequest, backend: BackendState, headers: string[], url: string) {
    this.ctx = ctx;
    this.up = up;
    this.backend = backend;
    this.headers = headers;
    this.url = url;
  }

  /** One attempt on its own connection, counted by the balancer from onStart until the tunnel ends. */
  attempt(endpoint: Endpoint): void {
    const limits = this.ctx.limits;
    this.endpoint = endpoint;
    this.attempts++;
    this.connected = false;
    this.backend.balancer.onStart(endpoint);
    this.inAttempt = true;
    this.attemptStart = performance.now();
    let req: ClientRequest;
    try {
      req = request({
        method: 'GET', path: this.url, headers: this.headers, setHost: false, maxHeaderSize: limits.maxHeaderBytes,
        createConnection: (): Socket => this.connect(endpoint, () => req),
      });
    } catch (err) {
      // node refused the head it was given (a header it will not send): nothing was sent.
      this.endAttempt(true, 0);
      return this.fail(PRX_ERR_UPSTREAM_CONNECT, 502, (err as Error).message);
    }
    this.upReq = req;
    req.on('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, res, socket, head));
    req.on('response', (res: IncomingMessage) => this.onResponse(req, res));
    req.on('error', (err: NodeJS.ErrnoException) => this.onError(req, err));
    this.startHeadersTimer();
    req.end();
  }

  /** timeouts.backendRequest, or else the upstream headers limit, bounds each attempt until its answer's head. */
  startHeadersTimer(): void {
    clearTimeout(this.headersTimer);
    const limitMs = this.ctx.limits.upstreamHeadersTimeoutMs;
    const backendMs = this.up.extras?.backendTimeoutMs ?? 0;
    const [waitMs, what] = backendMs > 0 && backendMs < limitMs ? [backendMs, 'backend request timeout'] : [limitMs, 'upstream headers timeout'];
    this.headersTimer = setTimeout(onHandshakeTimeout, waitMs, this, what);
  }

  /** A fresh TCP connection, cut after the connect timeout (then retried: nothing was written). */
  connect(endpoint: Endpoint, current: () => ClientRequest): Socket {
    const { address, port } = endpointAddress(endpoint.key);
    const socket = connect({ host: address, port, noDelay: true });
    const timer = setTimeout(() => socket.destroy(Object.assign(new Error(`connect timeout to ${endpoint.key}`), { code: 'ETIMEDOUT' })),
      this.ctx.limits.upstreamConnectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      if (this.upReq === current()) this.connected = true;
    });
    socket.once('close', () => clearTimeout(timer));
    return socket;
  }

  /** 101: the backend's head goes to the client, then bytes flow both ways until either side closes. */
  onUpgrade(req: ClientRequest, res: IncomingMessage, upstream: Duplex, upstreamHead: Buffer): void {
    const client = this.up.socket;
    if (req !== this.upReq || this.done || client.destroyed) return void upstream.destroy();
    this.settle();
    this.latencyMs = performance.now() - this.attemptStart;
    this.up.answered = true;
    let headers = this.withCookie(res.rawHeaders.slice());
    if (this.up.extras !== undefined) headers = answerHeaders(this.up, headers);
    client.write(responseHead(101, res.statusMessage || 'Switching Protocols', headers));
    if (upstreamHead.length > 0) client.write(upstreamHead);
    if (this.up.head.length > 0) upstream.write(this.up.head);
    upstream.on('error', ignore);
    // A tunnel may stay quiet for hours: TCP keep-alive finds a peer that vanished without a close.
    (client as Socket).setKeepAlive(true, TUNNEL_KEEPALIVE_MS);
    (upstream as Socket).setKeepAlive(true, TUNNEL_KEEPALIVE_MS);
    const end = (): void => {
      // Whatever is still buffered for the other side is written before it closes.
      (client as Socket).destroySoon();
      (upstream as Socket).destroySoon();
      this.endAttempt(true, 101);
    };
    client.once('close', end);
    upstream.once('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Any other answer: passed to the client as an ordinary response; both connections close after it. */
  onResponse(req: ClientRequest, res: IncomingMessage): void {
    if (req !== this.upReq || this.done || this.up.socket.destroyed) {
      req.destroy();
      return;
    }
    this.settle();
    this.latencyMs = performance.now() - this.attemptStart;
    const status = res.statusCode ?? 502;
    let headers = this.withCookie(downstreamResponseHeaders(res.rawHeaders, true));
    if (this.up.extras !== undefined) headers = answerHeaders(this.up, headers);
    const out = this.up.response();
    out.writeHead(status, headers);
    res.pipe(out);
    res.once('end', () => this.endAttempt(status < 500, status));
    res.once('close', () => {
      req.destroy();
      if (!res.complete) out.destroy();
    });
  }

  /** The sticky cookie and the rule's session token naming the endpoint that answered, as for any request. */
  withCookie(headers: string[]): string[] {
    appendSessionHeaders(headers, this.backend, this.endpoint!, { hash: undefined, sticky: this.up.sticky }, this.up.persistence, this.up.session);
    return headers;
  }

  onError(req: ClientRequest, err: NodeJS.ErrnoException): void {
    // An earlier attempt's request, or one this tunnel already ended (timeout, client gone).
    if (req !== this.upReq || this.done) return;
    if (!this.connected && this.retry(err.code ?? 'ERROR')) return;
    this.endAttempt(false, 0);
    if (this.connected) this.fail(PRX_ERR_UPSTREAM_RESET, 502, err.message);
    else this.fail(PRX_ERR_UPSTREAM_CONNECT, 502, err.message);
  }

  /** Architecture rule 4: a connection that failed before any byte was written goes to another endpoint. */
  retry(code: string): boolean {
    const failed = this.endpoint!;
    this.failed.push(failed);
    const next = this.nextEndpoint();
    if (next === undefined) return false;
    this.endAttempt(false, 0);
    publishProxyRetry(this.up.bind.name, this.up.routeName, failed.key, code, false, this.attempts + 1);
    this.attempt(next);
    return true;
  }

  /** A usable endpoint no attempt failed on, from the balancer's newest endpoints. */
  nextEndpoint(): Endpoint | undefined {
    return untriedEndpoint(this.backend.balancer, RETRY_PICK, (e) => this.failed.includes(e));
  }

  /** The client went away: a handshake still under way is dropped (the open tunnel ends by itself). */
  clientClosed(): void {
    if (this.done) return;
    this.settle();
    this.upReq?.destroy();
    this.endAttempt(true, 0);
  }

  fail(code: ProxyErrorCode, status: number, message: string): void {
    if (this.done) return;
    this.settle();
    this.upReq?.destroy();
    this.up.reject(code, status, message, this.endpoint?.key);
  }

  /** Balancer feedback and outlier detection for the current attempt, once; status 0: no answer. */
  endAttempt(ok: boolean, status: number): void {
    if (!this.inAttempt) return;
    this.inAttempt = false;
    const latencyMs = this.latencyMs >= 0 ? this.latencyMs : performance.now() - this.attemptStart;
    this.backend.onEnd(this.endpoint!, { ok, latencyMs }, attemptOutcome(ok, status));
  }

  settle(): void {
    this.done = true;
    clearTimeout(this.routeTimer);
    clearTimeout(this.headersTimer);
  }
}

/** timeouts.request or the upstream headers limit ran out before the backend answered the handshake. */
function onHandshakeTimeout(tunnel: Tunnel, message: string): void {
  if (tunnel.done) return;
  tunnel.endAttempt(false, 0);
  tunnel.fail(PRX_ERR_UPSTREAM_TIMEOUT, 504, message);
}

/** An HTTP/1.1 response head from a flat name/value list (names and values as node parsed them, or checked by the translator). */
function responseHead(status: number, reason: string, headers: readonly string[]): string {
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}

function ignore(): void {}
