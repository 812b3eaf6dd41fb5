// Proxy limits, on by default. Documented in README.md; keep the two in step.

export interface ProxyLimits {
  /** Largest request head (request line + headers) in bytes; beyond it the client gets 431. */
  readonly maxHeaderBytes: number;
  /** Time a client has to send the complete request head. */
  readonly clientHeadersTimeoutMs: number;
  /** Idle time after which a client keep-alive connection is closed. */
  readonly clientKeepAliveTimeoutMs: number;
  /** Largest request body: 413 on a larger Content-Length, abort when a stream exceeds it. */
  readonly maxRequestBodyBytes: number;
  /** Time to open a TCP connection to an endpoint (502 after it). */
  readonly upstreamConnectTimeoutMs: number;
  /** Time from sending the request until the upstream's response head arrives (504 after it). */
  readonly upstreamHeadersTimeoutMs: number;
  /** Longest pause between two chunks of an upstream response body. */
  readonly upstreamBodyIdleTimeoutMs: number;
  /** Idle time after which a pooled upstream connection is closed (the upstream's hint wins if lower). */
  readonly upstreamKeepAliveTimeoutMs: number;
  /** How long a removed bind (or close()) waits for in-flight requests before cutting them. */
  readonly drainTimeoutMs: number;
  /** HTTPS binds: time a client has to complete the TLS handshake; then the connection is cut. */
  readonly tlsHandshakeTimeoutMs: number;
  /** HTTPS binds: how long a TLS session can be resumed (session tickets and ids). */
  readonly tlsSessionTimeoutSeconds: number;
}

export const DEFAULT_LIMITS: ProxyLimits = Object.freeze({
  maxHeaderBytes: 16 * 1024,
  clientHeadersTimeoutMs: 30_000,
  clientKeepAliveTimeoutMs: 60_000,
  maxRequestBodyBytes: 64 * 1024 * 1024,
  upstreamConnectTimeoutMs: 5_000,
  upstreamHeadersTimeoutMs: 60_000,
  upstreamBodyIdleTimeoutMs: 60_000,
  upstreamKeepAliveTimeoutMs: 4_000,
  drainTimeoutMs: 30_000,
  tlsHandshakeTimeoutMs: 10_000,
  tlsSessionTimeoutSeconds: 300,
});
