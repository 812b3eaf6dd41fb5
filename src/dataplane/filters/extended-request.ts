// Requests of routes with extras (filters, redirect, backendRequest timeout, retry): the work
// a plain route skips, in the order IRFilters gives: CORS (a preflight is answered here and
// goes no further), the redirect or direct answer, request headers, URL rewrite, then the
// backendRef's own filters, mirrors, and the upstream request.
import type { IncomingMessage } from 'node:http';
import type { PassThrough } from 'node:stream';
import type { Dispatcher } from 'undici';
import {
  headerValue, lookupHost, normalizeHost, type CompiledBind, type CompiledFilters, type CompiledRedirect,
} from '../../compiler/index.ts';
import type { BackendState } from '../backend-state.ts';
import { sendStatus, statusHeaders } from '../errors.ts';
import type { Exchange } from '../exchange.ts';
import type { Endpoint } from '../lb/index.ts';
import type { RouteState } from '../live-config.ts';
import { forwardRequest, type ProxyContext } from '../proxy.ts';
import { answerHeaders } from './answer-headers.ts';
import { isPreflight, preflightHeaders } from './cors.ts';
import { modifyHeaders, replaceHeader } from './header-modifier.ts';
import { sendMirror, takesShare, teeBody, type MirrorState } from './mirror.ts';
import { applyPathModifier } from './path-modifier.ts';
import { redirectLocation } from './redirect.ts';

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
  const q = url.indexOf('?');
  const host = normalizeHost(ex.host);
  const listenerPort = lookupHost(table.listeners, host)?.port ?? table.port;
  const scheme = table.protocol === 'HTTPS' ? 'https' : 'http';
  const path = q < 0 ? url : url.slice(0, q);
  const location = redirectLocation(redirect, scheme, host || hostText(table.address), listenerPort, path, q < 0 ? '' : url.slice(q + 1));
  ownAnswer(ex, redirect.statusCode, answerHeaders(ex, statusHeaders(redirect.statusCode).concat('location', location)));
}

function hostText(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

/** Waygate's own answer for the route; an unread request body closes the connection. */
function ownAnswer(ex: Exchange, status: number, headers: string[]): void {
  sendStatus(ex.res, status, ex.bind.draining || ex.chunked || ex.contentLength > 0, headers);
}

/** RequestHeaderModifier, then URLRewrite (hostname: the Host sent upstream; path; the query is kept). */
function rewriteRequest(f: CompiledFilters, headers: string[], url: string): [string[], string] {
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

/** The upstream request with the backendRef's filters applied, and the copies for mirrors. */
export function sendExtended(
  ctx: ProxyContext, ex: Exchange, backend: BackendState, endpoint: Endpoint, req: IncomingMessage, headers: string[], url: string,
  method: string, timeoutMs: number,
): void {
  const own = ex.choice?.filters;
  const [h, u] = own === undefined ? [headers, url] : rewriteRequest(own, headers, url);
  const copies: { m: MirrorState; options: Dispatcher.DispatchOptions }[] = [];
  for (const m of ex.extras!.mirrors) if (takesShare(m)) copies.push({ m, options: { path: url, method, headers } });
  for (const m of ex.choice?.mirrors ?? []) if (takesShare(m)) copies.push({ m, options: { path: u, method, headers: h } });
  const hasBody = ex.chunked || ex.contentLength > 0;
  let body: IncomingMessage | PassThrough | null = hasBody ? req : null;
  let mirrorBodies: PassThrough[] | undefined;
  if (hasBody && copies.length > 0) {
    const tee = teeBody(req, copies.length);
    body = tee.main;
    mirrorBodies = tee.mirrors;
  }
  for (let i = 0; i < copies.length; i++) sendMirror(copies[i].m, ctx.pools, copies[i].options, mirrorBodies?.[i] ?? null);
  ex.forward(ctx.pools, backend, endpoint, { path: u, method, headers: h, body }, timeoutMs);
}
