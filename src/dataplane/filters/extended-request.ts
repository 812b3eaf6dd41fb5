// Requests of routes with extras (filters, redirect, backendRequest timeout, retry): the work
// a plain route skips, in the order IRFilters gives: CORS (a preflight is answered here and
// goes no further), the redirect or direct answer, request headers, URL rewrite, then the
// backendRef's own filters, mirrors, and the upstream request.
import type { IncomingMessage } from 'node:http';
import type { PassThrough } from 'node:stream';
import {
  headerValue, type CompiledBind, type CompiledFilters, type CompiledRedirect,
} from '../../compiler/index.ts';
import type { BackendState } from '../backend-state.ts';
import { PRX_ERR_UPSTREAM_TIMEOUT, publishProxyError, sendStatus, statusHeaders } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { Endpoint } from '../lb/index.ts';
import type { RouteState } from '../live-config.ts';
import { forwardRequest, type ProxyContext } from '../proxy.ts';
import { answerHeaders } from './answer-headers.ts';
import { isPreflight, preflightHeaders } from './cors.ts';
import { modifyHeaders, replaceHeader } from './header-modifier.ts';
import { sendMirror, takesShare, teeBody, type MirrorRequest, type MirrorState } from './mirror.ts';
import { applyPathModifier } from './path-modifier.ts';
import { redirectLocationFor } from './redirect.ts';

export function handleExtended(
  ctx: ProxyContext, ex: Exchange, state: RouteState, table: CompiledBind, headers: string[], url: string, method: string,
): void {
  const extras = state.extras!;
  const req = ex.req;
  ex.extras = extras;
  ex.backendTimeoutMs = extras.backendTimeoutMs;
  ex.origin = headerValue(req.rawHeaders, 'origin');
  const rule = extras.filters;
  if (rule?.cors !== undefined && isPreflight(method, ex.origin, req.rawHeaders)) {
    // HTTPCORSFilter: the gateway answers the preflight itself; it never reaches a backend.
    const cors = preflightHeaders(rule.cors, ex.origin!, req.rawHeaders);
    return ownAnswer(ex, 200, answerHeaders(ex, statusHeaders(200).concat(cors), false));
  }
  if (extras.redirect !== undefined) return answerRedirect(ex, extras.redirect, table, url);
  if (state.directStatus !== 0) return ownAnswer(ex, state.directStatus, answerHeaders(ex, statusHeaders(state.directStatus)));
  const [h, u] = rule === undefined ? [headers, url] : rewriteRequest(rule, headers, url);
  forwardRequest(ctx, ex, state, req, h, u, u.indexOf('?'), method);
}

/**
 * HTTPRequestRedirectFilter. The listener's port is the Gateway listener's (found by the host,
 * as the route was); the scheme is the bind's. A request without Host (HTTP/1.0) is sent to
 * the bind's address.
 */
function answerRedirect(ex: Exchange, redirect: CompiledRedirect, table: CompiledBind, url: string): void {
  const location = redirectLocationFor(redirect, table, ex.host, url);
  ownAnswer(ex, redirect.statusCode, answerHeaders(ex, statusHeaders(redirect.statusCode).concat('location', location)));
}

/** Waygate's own answer for the route; an unread request body closes the connection. */
function ownAnswer(ex: Exchange, status: number, headers: string[]): void {
  sendStatus(ex.res, status, ex.bind.draining || ex.chunked || ex.contentLength > 0, headers);
}

/** RequestHeaderModifier, then URLRewrite (hostname: the Host sent upstream; path; the query is kept). */
export function rewriteRequest(f: CompiledFilters, headers: string[], url: string): [string[], string] {
  let h = f.requestHeaders === undefined ? headers : modifyHeaders(headers, f.requestHeaders);
  let u = url;
  const rewrite = f.urlRewrite;
  if (rewrite !== undefined) {
    if (rewrite.hostname !== undefined) h = replaceHeader(h, 'host', rewrite.hostname);
    if (rewrite.path !== undefined) {
      const q = url.indexOf('?');
      u = applyPathModifier(q < 0 ? url : url.slice(0, q), rewrite.path) + (q < 0 ? '' : url.slice(q));
    }
  }
  return [h, u];
}

/**
 * Request bodies with a declared length up to this size are read whole on routes with
 * HTTPRouteRule.retry, so that a retry can send them again; longer or chunked ones are streamed
 * and not retried once read.
 */
export const RETRY_BODY_BUFFER_BYTES = 64 * 1024;

/** The upstream request with the backendRef's filters applied, and the copies for mirrors. */
export function sendExtended(
  ctx: ProxyContext, ex: Exchange, backend: BackendState, endpoint: Endpoint, req: IncomingMessage, headers: string[], url: string,
  method: string, timeoutMs: number,
): void {
  const hasBody = ex.chunked || ex.contentLength > 0;
  if (hasBody && ex.extras!.retry !== undefined && !ex.chunked && ex.contentLength <= RETRY_BODY_BUFFER_BYTES) {
    return void sendBuffered(ctx, ex, backend, endpoint, req, headers, url, method, timeoutMs);
  }
  dispatchExtended(ctx, ex, backend, endpoint, headers, url, method, timeoutMs, hasBody ? req : null);
}

/** Reads the whole (small) body, then sends; the time it took counts against timeouts.request. */
async function sendBuffered(
  ctx: ProxyContext, ex: Exchange, backend: BackendState, endpoint: Endpoint, req: IncomingMessage, headers: string[], url: string,
  method: string, timeoutMs: number,
): Promise<void> {
  const started = performance.now();
  const body = await readWhole(req, timeoutMs);
  if (ex.res.destroyed || ex.res.writableEnded) return;
  if (body === TIMED_OUT) {
    publishProxyError(PRX_ERR_UPSTREAM_TIMEOUT, 504, ex.bind.name, ex.routeName, undefined, 'request timeout while reading the body');
    return ownAnswer(ex, 504, answerHeaders(ex, statusHeaders(504)));
  }
  // The client went away while sending: nothing to answer.
  if (body === undefined) return;
  const left = timeoutMs > 0 ? Math.max(1, timeoutMs - (performance.now() - started)) : 0;
  dispatchExtended(ctx, ex, backend, endpoint, headers, url, method, left, body);
}

const TIMED_OUT = 'timed out';

/** The whole body; undefined when the client went away first, TIMED_OUT after `timeoutMs` (0: none). */
function readWhole(req: IncomingMessage, timeoutMs: number): Promise<Buffer | undefined | typeof TIMED_OUT> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const timer = timeoutMs > 0 ? setTimeout(() => resolve(TIMED_OUT), timeoutMs) : undefined;
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    req.on('close', () => {
      clearTimeout(timer);
      if (!req.complete) resolve(undefined);
    });
  });
}

function dispatchExtended(
  ctx: ProxyContext, ex: Exchange, backend: BackendState, endpoint: Endpoint, headers: string[], url: string, method: string,
  timeoutMs: number, requestBody: IncomingMessage | Buffer | null,
): void {
  const own = ex.choice?.filters;
  const [h, u] = own === undefined ? [headers, url] : rewriteRequest(own, headers, url);
  const copies: { m: MirrorState; options: MirrorRequest }[] = [];
  for (const m of ex.extras!.mirrors) if (takesShare(m)) copies.push({ m, options: { path: url, method, headers } });
  for (const m of ex.choice?.mirrors ?? []) if (takesShare(m)) copies.push({ m, options: { path: u, method, headers: h } });
  let body: IncomingMessage | PassThrough | Buffer | null = requestBody;
  let mirrorBodies: (PassThrough | Buffer | null)[] | undefined;
  if (Buffer.isBuffer(requestBody)) mirrorBodies = copies.map(() => requestBody);
  else if (requestBody !== null && copies.length > 0) {
    const tee = teeBody(requestBody, copies.length);
    body = tee.main;
    mirrorBodies = tee.mirrors;
  }
  for (let i = 0; i < copies.length; i++) sendMirror(copies[i].m, ctx.pools, copies[i].options, mirrorBodies?.[i] ?? null);
  ex.forward(ctx.pools, backend, endpoint, { path: u, method, headers: h, body }, timeoutMs);
}
