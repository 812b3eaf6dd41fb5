// What the upstream client tests share: a handler that records what it saw, raw TCP servers that
// write crafted bytes, node:http servers that record what they got, and small assertions.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EndpointPool } from '../../src/dataplane/upstream/pool.ts';
import {
  type PoolOptions, type UpstreamController, type UpstreamHandler, type UpstreamRequest,
} from '../../src/dataplane/upstream/types.ts';

export const HOST = '127.0.0.1';

// Timeouts large enough never to fire in a test that does not measure them (a loaded machine
// must not turn a framing test into a timeout), small enough that a hang fails in seconds.
export const OPTIONS: PoolOptions = { connectTimeoutMs: 2000, headersTimeoutMs: 3000, bodyTimeoutMs: 3000, keepAliveTimeoutMs: 5000 };

// ---------------------------------------------------------------------------------------------
// What the handler saw

export interface Hooks {
  onRequestStart?(controller: UpstreamController): void;
  onResponseStart?(controller: UpstreamController, status: number): void;
  onResponseData?(controller: UpstreamController, chunk: Buffer): void;
  onResponseEnd?(controller: UpstreamController): void;
}

/** Records every callback of one request; `done` resolves at its onResponseEnd or onResponseError. */
export class Collector implements UpstreamHandler {
  /** Callback names in order (runs of `data` or `bodySent` as one entry). */
  readonly calls: string[] = [];
  readonly chunks: Buffer[] = [];
  /** What onBodySent reported. */
  readonly sent: Buffer[] = [];
  status: number | undefined;
  headers: string[] | undefined;
  error: (Error & { code?: string }) | undefined;
  /** The controller of the latest callback. */
  controller: UpstreamController | undefined;
  readonly done: Promise<void>;
  readonly #hooks: Hooks;
  #resolve: () => void = () => {};

  constructor(hooks: Hooks = {}) {
    this.#hooks = hooks;
    this.done = new Promise((resolve) => (this.#resolve = resolve));
  }

  onRequestStart = (controller: UpstreamController): void => {
    this.calls.push('requestStart');
    this.controller = controller;
    this.#hooks.onRequestStart?.(controller);
  };

  onBodySent = (chunk: Buffer): void => {
    if (this.calls.at(-1) !== 'bodySent') this.calls.push('bodySent');
    this.sent.push(Buffer.from(chunk));
  };

  onResponseStart = (controller: UpstreamController, statusCode: number, headers: string[]): void => {
    this.calls.push('responseStart');
    this.controller = controller;
    this.status = statusCode;
    this.headers = [...headers];
    this.#hooks.onResponseStart?.(controller, statusCode);
  };

  onResponseData = (controller: UpstreamController, chunk: Buffer): void => {
    if (this.calls.at(-1) !== 'data') this.calls.push('data');
    this.controller = controller;
    this.chunks.push(Buffer.from(chunk));
    this.#hooks.onResponseData?.(controller, chunk);
  };

  onResponseEnd = (controller: UpstreamController): void => {
    this.calls.push('end');
    this.controller = controller;
    this.#hooks.onResponseEnd?.(controller);
    this.#resolve();
  };

  onResponseError = (controller: UpstreamController, err: Error): void => {
    this.calls.push('error');
    this.controller = controller;
    this.error = err;
    this.#resolve();
  };

  body(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  bodyBytes(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0);
  }
}

/** Rejects naming `what` when `promise` has not settled within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(ms, undefined, { signal: timer.signal }).then(() => {
        throw new Error(`${what()}: not within ${ms} ms`);
      }),
    ]);
  } finally {
    timer.abort();
  }
}

/** Waits for the request to end, then checks that exactly one of end and error came, and last. */
/** Resolves once `predicate` holds, polling; rejects naming `what` after `ms`. */
export async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}

export async function finish(rec: Collector, ms = 2000): Promise<Collector> {
  await within(rec.done, ms, () => `the request to end (callbacks so far: ${rec.calls.join(' ') || 'none'})`);
  await sleep(20);
  const terminal = rec.calls.filter((c) => c === 'end' || c === 'error');
  assert.equal(terminal.length, 1, `exactly one of onResponseEnd and onResponseError: ${rec.calls.join(' ')}`);
  assert.equal(rec.calls.at(-1), terminal[0], `no callback after the end: ${rec.calls.join(' ')}`);
  return rec;
}

export function send(pool: EndpointPool, request: UpstreamRequest, hooks?: Hooks): Collector {
  const rec = new Collector(hooks);
  pool.dispatch(request, rec);
  return rec;
}

export function fetchOnce(pool: EndpointPool, request: UpstreamRequest, ms?: number): Promise<Collector> {
  return finish(send(pool, request), ms);
}

export function get(path = '/', headers: string[] = []): UpstreamRequest {
  return { method: 'GET', path, headers, body: null };
}

export function assertEnded(rec: Collector, body: string, status = 200): void {
  assert.equal(rec.error, undefined, `no error expected, got ${rec.error?.code} ${rec.error?.message}`);
  assert.equal(rec.status, status);
  assert.equal(rec.body(), body);
}

export function assertFailed(rec: Collector, ...codes: string[]): void {
  assert.ok(rec.error !== undefined, `an error expected, the request ended with status ${rec.status} and body ${JSON.stringify(rec.body())}`);
  assert.ok(codes.includes(rec.error.code ?? ''), `error code ${rec.error.code} (${rec.error.message}), expected ${codes.join(' or ')}`);
}

export function newPool(t: TestContext, port: number, options: Partial<PoolOptions> = {}): EndpointPool {
  const pool = new EndpointPool(HOST, port, { ...OPTIONS, ...options });
  t.after(() => (pool.destroyed ? undefined : within(pool.destroy(), 2000, () => 'pool.destroy()')));
  return pool;
}

// ---------------------------------------------------------------------------------------------
// Upstreams

export interface RawConnection {
  readonly socket: Socket;
  /** Every byte received, latin1. */
  data: string;
  /** Request heads seen (bodies are not split off: raw upstreams take bodyless requests). */
  readonly heads: string[];
  isClosed: boolean;
  readonly closed: Promise<void>;
}

export interface RawServer {
  readonly port: number;
  /** Accepted connections, in order. */
  readonly connections: RawConnection[];
  close(): Promise<void>;
}

/** Called for each request head (without its final CRLF CRLF) on a connection. */
export type Respond = (socket: Socket, head: string, at: { connection: number; request: number }) => void;

/** A TCP server that answers each request head with whatever `respond` writes. */
export async function startRaw(t: TestContext, respond: Respond): Promise<RawServer> {
  const connections: RawConnection[] = [];
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    let markClosed = (): void => {};
    const connection: RawConnection = {
      socket, data: '', heads: [], isClosed: false,
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
    };
    socket.once('close', () => {
      connection.isClosed = true;
      markClosed();
    });
    const index = connections.push(connection) - 1;
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      connection.data += text;
      pending += text;
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        connection.heads.push(head);
        respond(socket, head, { connection: index, request: connection.heads.length - 1 });
      }
    });
  });
  await listen(server);
  const raw: RawServer = {
    port: (server.address() as AddressInfo).port,
    connections,
    close: async () => {
      for (const c of connections) c.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  t.after(() => raw.close());
  return raw;
}

export async function listen(server: Server): Promise<void> {
  server.listen(0, HOST);
  await once(server, 'listening');
}

/** A response with a Content-Length body. */
export function ok(body: string, extraHeaders = ''): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\n${extraHeaders}\r\n${body}`;
}

export function pathOf(head: string): string {
  return head.slice(0, head.indexOf('\r\n')).split(' ')[1] ?? '';
}

/** The head's header lines as [name, value] pairs. */
export function headerPairs(head: string): [string, string][] {
  return head.split('\r\n').slice(1).map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
}

export function valuesOf(pairs: [string, string][], name: string): string[] {
  return pairs.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

export async function closedWithin(connection: RawConnection | undefined, ms: number, what: string): Promise<void> {
  assert.ok(connection !== undefined, `${what}: the connection was never opened`);
  await within(connection.closed, ms, () => what);
}

export interface HttpRequestSeen {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  body: string;
  /** The whole body arrived (its declared length, or the last chunk). */
  complete: boolean;
  readonly closed: Promise<void>;
}

/** A node:http upstream that records requests and answers `ok` once a request's body has arrived. */
export async function startHttp(t: TestContext): Promise<{ port: number; requests: HttpRequestSeen[] }> {
  const requests: HttpRequestSeen[] = [];
  const server = createHttpServer((req: IncomingMessage, res) => {
    const seen: HttpRequestSeen = {
      method: req.method ?? '', url: req.url ?? '', rawHeaders: req.rawHeaders, body: '', complete: false,
      closed: new Promise((resolve) => req.socket.once('close', () => resolve())),
    };
    requests.push(seen);
    req.on('data', (chunk: Buffer) => (seen.body += chunk.toString('latin1')));
    req.on('error', () => {});
    req.on('end', () => {
      seen.complete = true;
      res.end('ok');
    });
  });
  await listen(server);
  t.after(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return { port: (server.address() as AddressInfo).port, requests };
}

export function rawHeaderValues(rawHeaders: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === name) values.push(rawHeaders[i + 1]);
  return values;
}

// ---------------------------------------------------------------------------------------------

