// HTTP/1.1 Upgrade (WebSocket) through HTTPRoutes: node's 'upgrade' event of a bind. The route
// is selected as for any request; Waygate's own answers (no route, redirect, direct response,
// no endpoint) are ordinary HTTP answers on the socket, which is then closed; a forwarded
// handshake becomes a tunnel (upgrade-tunnel.ts). Not on the path of ordinary requests.
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  headerValue, normalizeHost, selectRoute, type CompiledBind, type CompiledFilters, type CompiledRedirect,
} from '../compiler/index.ts';
import type { BackendState } from './backend-state.ts';
import { pickChoice, type ChoiceState } from './balancer.ts';
import {
  PRX_ERR_INVALID_BACKEND, PRX_ERR_NO_ENDPOINTS, PRX_ERR_NO_ROUTE, publishProxyError, sendStatus, statusHeaders, type ProxyErrorCode,
} from './errors.ts';
import { answerHeaders } from './filters/answer-headers.ts';
import { rewriteRequest } from './filters/extended-request.ts';
import { redirectLocationFor } from './filters/redirect.ts';
import type { RouteExtras } from './filters/route-extras.ts';
import { upgradeRequestHeaders, type RequestHead } from './headers.ts';
import { cookieValue, type Endpoint, type HashRequest, type PickContext, type Session, type SessionPersistence } from './lb/index.ts';
import type { RouteState } from './live-config.ts';
import { sessionChoice } from './sessions.ts';
import type { BindRef, ProxyContext } from './proxy.ts';
import { answerMisdirected, hasBody, isMisdirected } from './tls/misdirected.ts';
import { openTunnel } from './upgrade-tunnel.ts';

/** A bind that carries tunnels: it keeps them to cut those still open when its drain grace ends. */
export interface UpgradeBind extends BindRef {
  readonly tunnels: Set<Duplex>;
}

/**
 * Which Upgrade requests become tunnels (node's `shouldUpgradeCallback`): WebSocket handshakes,
 * a GET without a body asking for `Upgrade: websocket` (RFC 6455 §4.1). Others go the ordinary
 * way, where Upgrade is a hop-by-hop header and is dropped: a server may ignore Upgrade (RFC 9110
 * §7.8). Never `h2c`: an HTTP/2 connection tunnelled to a backend would carry requests for any
 * path and host past the route that matched the first one (its matches and filters).
 */
export function tunnelsUpgrade(req: IncomingMessage): boolean {
  if (req.method !== 'GET' || hasBody(req.rawHeaders)) return false;
  const upgrade = headerValue(req.rawHeaders, 'upgrade');
  return upgrade !== undefined && upgrade.trim().toLowerCase() === 'websocket';
}

/** One Upgrade request: what the route's answers and the tunnel need of it. */
export class UpgradeRequest implements RequestHead {
  host: string | undefined = undefined;
  contentLength = -1;
  chunked = false;
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  /** Bytes the client sent after its request head (node's `head`), for the backend. */
  readonly head: Buffer;
  readonly bind: UpgradeBind;
  routeName = '';
  extras: RouteExtras | undefined = undefined;
  choice: ChoiceState | undefined = undefined;
  origin: string | undefined = undefined;
  /** The request's sticky cookie value, when its backend is sticky. */
  sticky: string | undefined = undefined;
  /** The rule's session persistence, and the valid session the handshake carried. */
  persistence: SessionPersistence | undefined = undefined;
  session: Session | undefined = undefined;
  /** An answer or a tunnel took the socket: nothing else may write to it. */
  answered = false;

  constructor(req: IncomingMessage, socket: Duplex, head: Buffer, bind: UpgradeBind) {
    this.req = req;
    this.socket = socket;
    this.head = head;
    this.bind = bind;
  }

  /** An ordinary HTTP answer on the socket; the socket is closed once it is written. */
  response(): ServerResponse {
    this.answered = true;
    const res = new ServerResponse(this.req);
    res.shouldKeepAlive = false;
    res.assignSocket(this.socket as Socket);
    res.on('finish', () => (this.socket as Socket).destroySoon());
    return res;
  }

  /** Waygate's own answer with `status`, with the route's CORS and response headers when it has filters. */
  answer(status: number, headers?: string[]): void {
    if (this.answered || this.socket.destroyed) return;
    const head = headers ?? (this.extras === undefined ? undefined : answerHeaders(this, statusHeaders(status)));
    sendStatus(this.response(), status, true, head);
  }

  reject(code: ProxyErrorCode, status: number, message: string, endpoint?: string): void {
    publishProxyError(code, status, this.bind.name, this.routeName || undefined, endpoint, message);
    this.answer(status);
  }
}

/** node's 'upgrade' event of a bind. */
export function handleUpgrade(ctx: ProxyContext, bind: UpgradeBind, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  // A client gone mid-way shows as 'close'; an error must not be thrown at the process.
  socket.on('error', ignore);
  const live = bind.pinned ?? ctx.live;
  const up = new UpgradeRequest(req, socket, head, bind);
  const headers = upgradeRequestHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', up, bind.scheme);
  const table = live?.compiled.binds.get(bind.name);
  if (table === undefined) return up.reject(PRX_ERR_NO_ROUTE, 404, 'bind not configured');
  // HTTPS: a handshake whose Host belongs to another listener than its server name gets 421, as any request.
  if (bind.scheme === 'https' && isMisdirected(table, req)) return answerMisdirected(up.response(), true);
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const route = selectRoute(table, normalizeHost(up.host), req.method ?? 'GET', q < 0 ? url : url.slice(0, q), req.rawHeaders, q < 0 ? '' : url.slice(q + 1));
  if (route === undefined) return up.reject(PRX_ERR_NO_ROUTE, 404, 'no route');
  const state = live!.routes[route.id];
  up.routeName = route.name;
  const extras = state.extras;
  if (extras !== undefined) {
    up.extras = extras;
    up.origin = headerValue(req.rawHeaders, 'origin');
    if (extras.redirect !== undefined) return answerRedirect(up, extras.redirect, table, url);
  }
  if (state.directStatus !== 0) return up.answer(state.directStatus);
  const [h, u] = rewrite(extras?.filters, headers, url);
  forwardUpgrade(ctx, up, state, h, u);
}

/** The session's endpoint or the weighted choice, the backendRef's filters, an endpoint of the backend's balancer, then the tunnel. */
function forwardUpgrade(ctx: ProxyContext, up: UpgradeRequest, state: RouteState, headers: string[], url: string): void {
  const target = state.session === undefined ? undefined : sessionTarget(up, state);
  const choice = target?.choice ?? pickChoice(state.choices, state.totalWeight);
  up.choice = choice;
  const backend = choice.backend;
  if (backend === undefined) return up.reject(PRX_ERR_INVALID_BACKEND, choice.status, 'invalid backend');
  const [h, u] = rewrite(choice.filters, headers, url);
  const endpoint = target?.endpoint ?? pickEndpoint(up, backend);
  if (endpoint !== undefined) return openTunnel(ctx, up, backend, endpoint, h, u, state.timeoutMs);
  if (backend.dns === undefined || backend.dns.settled) return up.reject(PRX_ERR_NO_ENDPOINTS, 503, `no endpoints for ${backend.name}`);
  // A DNS backend before its first answer: the handshake waits for it, once, as a request does.
  void backend.dns.first.then(() => {
    const next = up.socket.destroyed ? undefined : pickEndpoint(up, backend);
    if (next === undefined) return up.reject(PRX_ERR_NO_ENDPOINTS, 503, `no endpoints for ${backend.name}`);
    openTunnel(ctx, up, backend, next, h, u, state.timeoutMs);
  });
}

/**
 * HTTPRouteRule.sessionPersistence, as for any request (proxy.ts): the endpoint the handshake's
 * session names, if still usable for a session, looked up across the rule's backends.
 */
function sessionTarget(up: UpgradeRequest, state: RouteState): { choice: ChoiceState; endpoint: Endpoint } | undefined {
  const persistence = state.session!;
  const session = persistence.open(persistence.token(up.req.rawHeaders));
  up.persistence = persistence;
  up.session = session;
  if (session === undefined) return undefined;
  const found = sessionChoice(state.choices, session.tag);
  const sticky = found?.choice.backend!.sticky;
  if (sticky !== undefined) up.sticky = cookieValue(up.req.rawHeaders, sticky.cookieName);
  return found;
}

/** The backend's balancer, with the request's hash key and sticky cookie as for any request. */
function pickEndpoint(up: UpgradeRequest, backend: BackendState): Endpoint | undefined {
  const url = up.req.url ?? '/';
  const q = url.indexOf('?');
  const request: HashRequest = { rawHeaders: up.req.rawHeaders, rawQuery: q < 0 ? '' : url.slice(q + 1), remoteAddress: up.req.socket.remoteAddress ?? '' };
  const pick: PickContext = { hash: undefined, sticky: undefined };
  const endpoint = backend.pick(pick, request);
  up.sticky = pick.sticky;
  return endpoint;
}

/** The request filters of a handshake, as for any request of the route; mirrors are not sent (a tunnel cannot be copied), and CORS needs nothing (a handshake is no preflight). */
function rewrite(f: CompiledFilters | undefined, headers: string[], url: string): [string[], string] {
  return f === undefined ? [headers, url] : rewriteRequest(f, headers, url);
}

/** HTTPRequestRedirectFilter, as for any request of the route. */
function answerRedirect(up: UpgradeRequest, redirect: CompiledRedirect, table: CompiledBind, url: string): void {
  const location = redirectLocationFor(redirect, table, up.host, url);
  up.answer(redirect.statusCode, answerHeaders(up, statusHeaders(redirect.statusCode).concat('location', location)));
}

function ignore(): void {}
