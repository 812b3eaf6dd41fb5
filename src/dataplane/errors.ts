// Stable proxy error codes, published on a diagnostics channel instead of being logged.
import { channel } from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { CHANNELS } from '../observability/index.ts';

export const PRX_ERR_NO_ROUTE = 'PRX_ERR_NO_ROUTE';
export const PRX_ERR_NO_ENDPOINTS = 'PRX_ERR_NO_ENDPOINTS';
export const PRX_ERR_INVALID_BACKEND = 'PRX_ERR_INVALID_BACKEND';
export const PRX_ERR_UPSTREAM_CONNECT = 'PRX_ERR_UPSTREAM_CONNECT';
export const PRX_ERR_UPSTREAM_TIMEOUT = 'PRX_ERR_UPSTREAM_TIMEOUT';
export const PRX_ERR_UPSTREAM_RESET = 'PRX_ERR_UPSTREAM_RESET';
export const PRX_ERR_REQUEST_TOO_LARGE = 'PRX_ERR_REQUEST_TOO_LARGE';

export type ProxyErrorCode =
  | typeof PRX_ERR_NO_ROUTE | typeof PRX_ERR_NO_ENDPOINTS | typeof PRX_ERR_INVALID_BACKEND
  | typeof PRX_ERR_UPSTREAM_CONNECT | typeof PRX_ERR_UPSTREAM_TIMEOUT | typeof PRX_ERR_UPSTREAM_RESET
  | typeof PRX_ERR_REQUEST_TOO_LARGE;

/** Message on `waygate:proxy:error`. */
export interface ProxyErrorEvent {
  readonly code: ProxyErrorCode;
  /** Status answered to the client, or 0 when the response had already started and was cut. */
  readonly status: number;
  readonly bind: string;
  readonly route: string | undefined;
  readonly endpoint: string | undefined;
  readonly message: string;
}

export const PROXY_ERROR_CHANNEL = CHANNELS.proxyError;
export const proxyErrorChannel = channel(PROXY_ERROR_CHANNEL);

export function publishProxyError(
  code: ProxyErrorCode, status: number, bind: string, route: string | undefined, endpoint: string | undefined, message: string,
): void {
  if (!proxyErrorChannel.hasSubscribers) return;
  const event: ProxyErrorEvent = { code, status, bind, route, endpoint, message };
  proxyErrorChannel.publish(event);
}

/** Message on `waygate:proxy:retry`: an attempt failed where a retry is safe, and another follows. */
export interface ProxyRetryEvent {
  readonly bind: string;
  readonly route: string;
  /** The endpoint the failed attempt went to. */
  readonly endpoint: string;
  /** The upstream client's or the socket's error code (`ECONNREFUSED`, `UPSTREAM_CLOSED`, …). */
  readonly code: string;
  /** Whether the request head had been written (then only idempotent requests are retried). */
  readonly written: boolean;
  /** The number of the attempt that follows (2 for the first retry). */
  readonly attempt: number;
}

export const PROXY_RETRY_CHANNEL = CHANNELS.proxyRetry;
export const proxyRetryChannel = channel(PROXY_RETRY_CHANNEL);

export function publishProxyRetry(bind: string, route: string, endpoint: string, code: string, written: boolean, attempt: number): void {
  if (!proxyRetryChannel.hasSubscribers) return;
  const event: ProxyRetryEvent = { bind, route, endpoint, code, written, attempt };
  proxyRetryChannel.publish(event);
}

const BODIES = new Map<number, string>([
  [404, 'no route\n'], [413, 'request body too large\n'], [500, 'invalid backend\n'],
  [502, 'upstream connect error or reset\n'], [503, 'no healthy upstream\n'], [504, 'upstream timeout\n'],
]);

/** The plain-text head of Waygate's own answer with `status` (DirectResponse, errors, redirects). */
export function statusHeaders(status: number): string[] {
  const body = BODIES.get(status) ?? '';
  return ['content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(body))];
}

/**
 * A short plain-text error (or DirectResponse) answer. `headers` replaces the default head
 * (statusHeaders) when a route changes it: a redirect's Location, CORS, a ResponseHeaderModifier.
 */
export function sendStatus(res: ServerResponse, status: number, close: boolean, headers?: string[]): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const head = headers ?? statusHeaders(status);
  if (close) head.push('connection', 'close');
  res.writeHead(status, head);
  res.end(BODIES.get(status) ?? '');
}
