// The hot path: the request entry point of every bind; changes here are measured (bench/).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { normalizeHost, selectRoute } from '../compiler/index.ts';
import { pickChoice } from './balancer.ts';
import {
  PRX_ERR_INVALID_BACKEND, PRX_ERR_NO_ENDPOINTS, PRX_ERR_NO_ROUTE, PRX_ERR_REQUEST_TOO_LARGE,
  publishProxyError, sendStatus,
} from './errors.ts';
import type { BackendState } from './backend-state.ts';
import { Exchange, PICK_CONTEXT } from './exchange.ts';
import { FastResponse } from './fast/fast-response.ts';
import { handleExtended, sendExtended } from './filters/extended-request.ts';
import { upstreamRequestHeaders, type ClientScheme } from './headers.ts';
import { cookieValue, type Endpoint, type HashRequest } from './lb/index.ts';
import type { LiveConfig, RouteState } from './live-config.ts';
import { sessionChoice } from './sessions.ts';
import type { ProxyLimits } from './limits.ts';
import type { UpstreamPools } from './upstream-pools.ts';
import type { UpstreamRequest } from './upstream/types.ts';

/** What the proxy reads from the data plane for each request. */
export interface ProxyContext {
  /** The one reference swapped by apply(). */
  readonly live: LiveConfig | undefined;
  readonly pools: UpstreamPools;
  readonly limits: ProxyLimits;
}

/** The bind a request arrived on. */
export interface BindRef {
  readonly name: string;
  /**
   * A config this bind is pinned to instead of the live one: the incoming config while a new
   * bind opens (before the swap), the last config that had it while a removed bind drains.
   */
  readonly pinned: LiveConfig | undefined;
  /** Draining: answers carry `Connection: close`. */
  readonly draining: boolean;
  /** The scheme clients use on this bind (`https` when it terminates TLS): X-Forwarded-Proto. */
  readonly scheme: ClientScheme;
}

export function handleRequest(ctx: ProxyContext, bind: BindRef, req: IncomingMessage, res: ServerResponse): void {
  // Capture the config once: the whole request runs on it even if a newer one goes live.
  const live = bind.pinned ?? ctx.live;
  const ex = new Exchange(req, res, bind);
  const headers = upstreamRequestHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', ex, bind.scheme);
  const table = live?.compiled.binds.get(bind.name);
  if (table === undefined) return reject(ex, PRX_ERR_NO_ROUTE, 404, 'bind not configured');
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const method = req.method ?? 'GET';
  const route = selectRoute(table, normalizeHost(ex.host), method, q < 0 ? url : url.slice(0, q), req.rawHeaders, q < 0 ? '' : url.slice(q + 1));
  if (route === undefined) return reject(ex, PRX_ERR_NO_ROUTE, 404, 'no route');
  const state = live!.routes[route.id];
  ex.routeName = route.name;
  // Filters, redirects, per-attempt timeouts and retries: one branch, so plain routes pay nothing.
  // They read request bodies and stream them: node's server takes a fast-path connection first.
  if (state.extras !== undefined) {
    if (res instanceof FastResponse) return res.owner.handOff();
    return handleExtended(ctx, ex, state, table, headers, url, method);
  }
  if (state.directStatus !== 0) return void sendStatus(res, state.directStatus, bind.draining);
  forwardRequest(ctx, ex, state, req, headers, url, q, method);
}

/** The weighted choice (or the session's endpoint), the endpoint, and the upstream request. */
export function forwardRequest(
  ctx: ProxyContext, ex: Exchange, state: RouteState, req: IncomingMessage, headers: string[], url: string, q: number, method: string,
): void {
  // HTTPRoute sessionPersistence: a session's endpoint, in any backend of the rule, comes first.
  let endpoint = state.session === undefined ? undefined : sessionEndpoint(ex, state, req.rawHeaders);
  let backend = ex.backend;
  if (endpoint === undefined) {
    const choice = pickChoice(state.choices, state.totalWeight);
    ex.choice = choice;
    backend = choice.backend;
    if (backend === undefined) return reject(ex, PRX_ERR_INVALID_BACKEND, choice.status, 'invalid backend');
    endpoint = pick(ex, backend, req, url, q);
    if (endpoint === undefined) {
      // A DNS backend before its first answer: the request waits for it, once.
      if (backend.dns !== undefined && !backend.dns.settled) return void afterFirstAnswer(ctx, ex, state, backend, req, headers, url, q, method);
      return reject(ex, PRX_ERR_NO_ENDPOINTS, 503, `no endpoints for ${backend.name}`);
    }
  } else if (backend!.sticky !== undefined) ex.sticky = cookieValue(req.rawHeaders, backend!.sticky.cookieName);
  send(ctx, ex, backend!, endpoint, req, headers, url, method, state.timeoutMs);
}

function pick(ex: Exchange, backend: BackendState, req: IncomingMessage, url: string, q: number): Endpoint | undefined {
  HASH_REQUEST.rawHeaders = req.rawHeaders;
  if (backend.hashKey !== undefined) {
    HASH_REQUEST.rawQuery = q < 0 ? '' : url.slice(q + 1);
    HASH_REQUEST.remoteAddress = req.socket.remoteAddress ?? '';
  }
  const endpoint = backend.pick(PICK_CONTEXT, HASH_REQUEST);
  ex.sticky = PICK_CONTEXT.sticky;
  return endpoint;
}

function send(
  ctx: ProxyContext, ex: Exchange, backend: BackendState, endpoint: Endpoint, req: IncomingMessage, headers: string[], url: string, method: string,
  timeoutMs: number,
): void {
  const limit = ctx.limits.maxRequestBodyBytes;
  if (ex.contentLength > limit) return reject(ex, PRX_ERR_REQUEST_TOO_LARGE, 413, 'request body too large');
  ex.bodyLimit = limit;
  if (ex.extras !== undefined) return sendExtended(ctx, ex, backend, endpoint, req, headers, url, method, timeoutMs);
  const hasBody = ex.chunked || ex.contentLength > 0;
  const options: UpstreamRequest = { path: url, method, headers, body: hasBody ? req : null };
  ex.forward(ctx.pools, backend, endpoint, options, timeoutMs);
}

/** The longest a request waits for a DNS backend's first answer (less when the route timeout is shorter). */
export const DNS_FIRST_ANSWER_WAIT_MS = 5000;

/** Waits for the first answer of `backend`'s name (bounded), then picks again: 503 if there is still nothing. */
async function afterFirstAnswer(
  ctx: ProxyContext, ex: Exchange, state: RouteState, backend: BackendState, req: IncomingMessage, headers: string[], url: string,
  q: number, method: string,
): Promise<void> {
  const wait = state.timeoutMs > 0 ? Math.min(state.timeoutMs, DNS_FIRST_ANSWER_WAIT_MS) : DNS_FIRST_ANSWER_WAIT_MS;
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([backend.dns!.first, new Promise<void>((resolve) => { timer = setTimeout(resolve, wait); })]);
  clearTimeout(timer);
  if (ex.res.destroyed || ex.res.writableEnded) return;
  const endpoint = pick(ex, backend, req, url, q);
  if (endpoint === undefined) return reject(ex, PRX_ERR_NO_ENDPOINTS, 503, `no endpoints for ${backend.name}`);
  const timeoutMs = state.timeoutMs > 0 ? Math.max(1, state.timeoutMs - (performance.now() - started)) : 0;
  send(ctx, ex, backend, endpoint, req, headers, url, method, timeoutMs);
}

/** Overwritten for every request that hashes, so that picks allocate nothing. */
const HASH_REQUEST: { rawHeaders: readonly string[]; rawQuery: string; remoteAddress: string } & HashRequest = { rawHeaders: [], rawQuery: '', remoteAddress: '' };

/**
 * The endpoint the request's session names, if it is still usable (serving, even terminating:
 * SESSION_MODE), looked up across the rule's backends; sets `ex.backend`. Records the session on
 * the exchange, whose answer then carries a new or renewed token when needed.
 */
function sessionEndpoint(ex: Exchange, state: RouteState, rawHeaders: readonly string[]): Endpoint | undefined {
  const persistence = state.session!;
  const session = persistence.open(persistence.token(rawHeaders));
  ex.persistence = persistence;
  ex.session = session;
  if (session === undefined) return undefined;
  const found = sessionChoice(state.choices, session.tag);
  if (found === undefined) return undefined;
  ex.backend = found.choice.backend;
  ex.choice = found.choice;
  return found.endpoint;
}

function reject(ex: Exchange, code: Parameters<typeof publishProxyError>[0], status: number, message: string): void {
  publishProxyError(code, status, ex.bind.name, ex.routeName || undefined, undefined, message);
  // An unread request body cannot be skipped safely on a kept-alive connection when large.
  sendStatus(ex.res, status, ex.bind.draining || ex.chunked || ex.contentLength > 0, ex.ownAnswerHeaders(status));
}
