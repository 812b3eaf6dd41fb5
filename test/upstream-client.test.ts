// The upstream HTTP/1.1 client (src/dataplane/upstream/, EndpointPool) against real sockets on
// 127.0.0.1: raw TCP servers that write crafted bytes (framing, malformed answers, failures) and
// node:http servers where an ordinary server is enough. What is checked is what a client of the
// proxy would see: the body it gets, the error it gets, and the connections the upstream sees.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { unansweredPort } from './helpers/unanswered-port.ts';
import { EndpointPool } from '../src/dataplane/upstream/pool.ts';
import {
  REQUEST_BODY_FAILED, REQUEST_INVALID, UPSTREAM_BAD_RESPONSE, UPSTREAM_BODY_TIMEOUT, UPSTREAM_CLOSED,
  UPSTREAM_CONNECT_TIMEOUT, UPSTREAM_HEADERS_TIMEOUT, UPSTREAM_POOL_CLOSED,
  type PoolOptions, type UpstreamController, type UpstreamHandler, type UpstreamRequest,
} from '../src/dataplane/upstream/types.ts';
import { freePort } from './helpers/ports.ts';

const HOST = '127.0.0.1';

// Timeouts large enough never to fire in a test that does not measure them (a loaded machine
// must not turn a framing test into a timeout), small enough that a hang fails in seconds.
const OPTIONS: PoolOptions = { connectTimeoutMs: 2000, headersTimeoutMs: 3000, bodyTimeoutMs: 3000, keepAliveTimeoutMs: 5000 };

// ---------------------------------------------------------------------------------------------
// What the handler saw

interface Hooks {
  onRequestStart?(controller: UpstreamController): void;
  onResponseStart?(controller: UpstreamController, status: number): void;
  onResponseData?(controller: UpstreamController, chunk: Buffer): void;
  onResponseEnd?(controller: UpstreamController): void;
}

/** Records every callback of one request; `done` resolves at its onResponseEnd or onResponseError. */
class Collector implements UpstreamHandler {
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
async function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
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
async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(5);
  }
}

async function finish(rec: Collector, ms = 2000): Promise<Collector> {
  await within(rec.done, ms, () => `the request to end (callbacks so far: ${rec.calls.join(' ') || 'none'})`);
  await sleep(20);
  const terminal = rec.calls.filter((c) => c === 'end' || c === 'error');
  assert.equal(terminal.length, 1, `exactly one of onResponseEnd and onResponseError: ${rec.calls.join(' ')}`);
  assert.equal(rec.calls.at(-1), terminal[0], `no callback after the end: ${rec.calls.join(' ')}`);
  return rec;
}

function send(pool: EndpointPool, request: UpstreamRequest, hooks?: Hooks): Collector {
  const rec = new Collector(hooks);
  pool.dispatch(request, rec);
  return rec;
}

function fetchOnce(pool: EndpointPool, request: UpstreamRequest, ms?: number): Promise<Collector> {
  return finish(send(pool, request), ms);
}

function get(path = '/', headers: string[] = []): UpstreamRequest {
  return { method: 'GET', path, headers, body: null };
}

function assertEnded(rec: Collector, body: string, status = 200): void {
  assert.equal(rec.error, undefined, `no error expected, got ${rec.error?.code} ${rec.error?.message}`);
  assert.equal(rec.status, status);
  assert.equal(rec.body(), body);
}

function assertFailed(rec: Collector, ...codes: string[]): void {
  assert.ok(rec.error !== undefined, `an error expected, the request ended with status ${rec.status} and body ${JSON.stringify(rec.body())}`);
  assert.ok(codes.includes(rec.error.code ?? ''), `error code ${rec.error.code} (${rec.error.message}), expected ${codes.join(' or ')}`);
}

function newPool(t: TestContext, port: number, options: Partial<PoolOptions> = {}): EndpointPool {
  const pool = new EndpointPool(HOST, port, { ...OPTIONS, ...options });
  t.after(() => (pool.destroyed ? undefined : within(pool.destroy(), 2000, () => 'pool.destroy()')));
  return pool;
}

// ---------------------------------------------------------------------------------------------
// Upstreams

interface RawConnection {
  readonly socket: Socket;
  /** Every byte received, latin1. */
  data: string;
  /** Request heads seen (bodies are not split off: raw upstreams take bodyless requests). */
  readonly heads: string[];
  isClosed: boolean;
  readonly closed: Promise<void>;
}

interface RawServer {
  readonly port: number;
  /** Accepted connections, in order. */
  readonly connections: RawConnection[];
  close(): Promise<void>;
}

/** Called for each request head (without its final CRLF CRLF) on a connection. */
type Respond = (socket: Socket, head: string, at: { connection: number; request: number }) => void;

/** A TCP server that answers each request head with whatever `respond` writes. */
async function startRaw(t: TestContext, respond: Respond): Promise<RawServer> {
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

async function listen(server: Server): Promise<void> {
  server.listen(0, HOST);
  await once(server, 'listening');
}

/** A response with a Content-Length body. */
function ok(body: string, extraHeaders = ''): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body, 'latin1')}\r\n${extraHeaders}\r\n${body}`;
}

function pathOf(head: string): string {
  return head.slice(0, head.indexOf('\r\n')).split(' ')[1] ?? '';
}

/** The head's header lines as [name, value] pairs. */
function headerPairs(head: string): [string, string][] {
  return head.split('\r\n').slice(1).map((line) => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon), line.slice(colon + 1).trim()];
  });
}

function valuesOf(pairs: [string, string][], name: string): string[] {
  return pairs.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
}

async function closedWithin(connection: RawConnection | undefined, ms: number, what: string): Promise<void> {
  assert.ok(connection !== undefined, `${what}: the connection was never opened`);
  await within(connection.closed, ms, () => what);
}

interface HttpRequestSeen {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  body: string;
  /** The whole body arrived (its declared length, or the last chunk). */
  complete: boolean;
  readonly closed: Promise<void>;
}

/** A node:http upstream that records requests and answers `ok` once a request's body has arrived. */
async function startHttp(t: TestContext): Promise<{ port: number; requests: HttpRequestSeen[] }> {
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

function rawHeaderValues(rawHeaders: string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === name) values.push(rawHeaders[i + 1]);
  return values;
}

// ---------------------------------------------------------------------------------------------

describe('framing', () => {
  test('a Content-Length body is delivered whole, and the next response on the connection is read from where it ended', async (t) => {
    const server = await startRaw(t, (socket, _head, at) => socket.write(ok(at.request === 0 ? 'first body' : 'second')));
    const pool = newPool(t, server.port);
    assertEnded(await fetchOnce(pool, get('/1')), 'first body');
    assertEnded(await fetchOnce(pool, get('/2')), 'second');
    assert.equal(server.connections.length, 1);
  });

  test('a chunked body is de-chunked: chunk extensions ignored, trailers read and dropped', async (t) => {
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Before: 1\r\n\r\n'
      + '5;name=value\r\nhello\r\na;quoted="x;y"\r\n, chunked!\r\n0\r\nX-Trailer: dropped\r\nX-Other: too\r\n\r\n';
    const server = await startRaw(t, (socket, _head, at) => socket.write(at.request === 0 ? chunked : ok('next')));
    const pool = newPool(t, server.port);
    const rec = await fetchOnce(pool, get());
    assertEnded(rec, 'hello, chunked!');
    assert.deepEqual(rec.headers, ['Transfer-Encoding', 'chunked', 'X-Before', '1']);
    // The trailers were consumed: the next response on the same connection parses.
    assertEnded(await fetchOnce(pool, get()), 'next');
    assert.equal(server.connections.length, 1);
  });

  test('a body without Content-Length or chunked ends when the upstream closes the connection', async (t) => {
    const server = await startRaw(t, (socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ');
      setTimeout(() => socket.end('the close'), 30);
    });
    const pool = newPool(t, server.port);
    assertEnded(await fetchOnce(pool, get()), 'until the close');
  });

  for (const { name, method, statusLine } of [
    { name: 'a response to HEAD', method: 'HEAD', statusLine: 'HTTP/1.1 200 OK' },
    { name: 'a 204', method: 'GET', statusLine: 'HTTP/1.1 204 No Content' },
    { name: 'a 304', method: 'GET', statusLine: 'HTTP/1.1 304 Not Modified' },
  ]) {
    test(`${name} has no body even with a Content-Length`, async (t) => {
      const server = await startRaw(t, (socket, _head, at) => {
        socket.write(at.request === 0 ? `${statusLine}\r\nContent-Length: 5\r\n\r\n` : ok('after'));
      });
      const pool = newPool(t, server.port);
      const rec = await fetchOnce(pool, { method, path: '/', headers: [], body: null });
      assertEnded(rec, '', Number(statusLine.split(' ')[1]));
      assert.deepEqual(rec.headers, ['Content-Length', '5']);
      // Nothing of the next response was taken for a body.
      assertEnded(await fetchOnce(pool, get()), 'after');
      assert.equal(server.connections.length, 1);
    });
  }

  test('informational 100 and 103 responses before the final one are not passed on', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(
      'HTTP/1.1 100 Continue\r\n\r\n'
      + 'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n'
      + 'HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone',
    ));
    const pool = newPool(t, server.port);
    const rec = await fetchOnce(pool, get());
    assertEnded(rec, 'done', 201);
    assert.deepEqual(rec.calls.filter((c) => c === 'responseStart'), ['responseStart']);
    assert.deepEqual(rec.headers, ['Content-Length', '4']);
  });

  test('header names keep their case and order, repeated headers stay repeated, values lose surrounding spaces', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(
      'HTTP/1.1 200 OK\r\nX-Request-ID: 7\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\ncontent-length: 2\r\n'
      + 'X-Padded:   spaced value \t\r\nVary: accept\r\nvary: origin\r\n\r\nok',
    ));
    const pool = newPool(t, server.port);
    const rec = await fetchOnce(pool, get());
    assertEnded(rec, 'ok');
    assert.deepEqual(rec.headers, [
      'X-Request-ID', '7', 'set-cookie', 'a=1', 'Set-Cookie', 'b=2', 'content-length', '2',
      'X-Padded', 'spaced value', 'Vary', 'accept', 'vary', 'origin',
    ]);
  });

  test('a response written a byte at a time parses as it does in one write', async (t) => {
    const responses = [
      'HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 11\r\nX-B: two\r\n\r\nhello world',
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-C: 3\r\n\r\n'
        + '3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: t\r\n\r\n',
      'HTTP/1.1 204 No Content\r\nX-D: 4\r\n\r\n',
    ];
    // Request 2k gets response k in one write, request 2k+1 the same bytes one by one, each
    // write its own TCP segment (no delay) and a turn of the event loop apart.
    const server = await startRaw(t, (socket, _head, at) => {
      const response = responses[Math.floor(at.request / 2)];
      if (at.request % 2 === 0) return void socket.write(response);
      void (async () => {
        for (let i = 0; i < response.length; i++) {
          socket.write(response[i]);
          await new Promise(setImmediate);
          await new Promise(setImmediate);
        }
      })();
    });
    const pool = newPool(t, server.port);
    for (const response of responses) {
      const whole = await fetchOnce(pool, get());
      const bytewise = await fetchOnce(pool, get(), 5000);
      assert.equal(whole.error, undefined, `${JSON.stringify(response)} in one write: ${whole.error?.message}`);
      assert.equal(bytewise.error, undefined, `${JSON.stringify(response)} byte by byte: ${bytewise.error?.message}`);
      assert.deepEqual(
        { status: bytewise.status, headers: bytewise.headers, body: bytewise.body() },
        { status: whole.status, headers: whole.headers, body: whole.body() },
        JSON.stringify(response),
      );
    }
    assert.equal(server.connections.length, 1);
  });

  test('a head that never ends is refused once it passes 64 KiB, without waiting for its end', async (t) => {
    const server = await startRaw(t, (socket) => {
      socket.write('HTTP/1.1 200 OK\r\n');
      let n = 0;
      const more = setInterval(() => {
        if (socket.destroyed || n > 200) return clearInterval(more);
        socket.write(`X-Line-${n++}: ${'b'.repeat(1000)}\r\n`);
      }, 1);
    });
    const pool = newPool(t, server.port, { headersTimeoutMs: 10_000 });
    const rec = await fetchOnce(pool, get(), 3000);
    assertFailed(rec, UPSTREAM_BAD_RESPONSE);
    await closedWithin(server.connections[0], 2000, 'the connection of the endless head to close');
  });

  const pad = Array.from({ length: 70 }, (_, i) => `X-Pad-${i}: ${'a'.repeat(1000)}\r\n`).join('');
  for (const { name, response } of [
    { name: 'both Transfer-Encoding and Content-Length', response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n' },
    { name: 'two different Content-Length values', response: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!' },
    { name: 'a Content-Length list with different values', response: 'HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!' },
    { name: 'a Content-Length that is not a number', response: 'HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\nhello' },
    { name: 'a status line without a status code', response: 'HTTP/1.1 OK\r\nContent-Length: 2\r\n\r\nok' },
    { name: 'a status line of another protocol', response: 'ICY 200 OK\r\nContent-Length: 2\r\n\r\nok' },
    { name: 'a two-digit status code', response: 'HTTP/1.1 20 OK\r\nContent-Length: 2\r\n\r\nok' },
    { name: 'a header line without a colon', response: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nno colon here\r\n\r\nok' },
    { name: 'an obs-fold continuation line', response: 'HTTP/1.1 200 OK\r\nX-Folded: first\r\n  second\r\nContent-Length: 2\r\n\r\nok' },
    { name: 'a head over 64 KiB', response: `HTTP/1.1 200 OK\r\n${pad}Content-Length: 2\r\n\r\nok` },
    { name: 'a chunk size that is not hex', response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n' },
    { name: 'a negative chunk size', response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n' },
    { name: 'a chunk size beyond 64 bits', response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nhello\r\n0\r\n\r\n' },
    { name: 'chunk data not followed by CRLF', response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXY0\r\n\r\n' },
  ]) {
    test(`${name}: UPSTREAM_BAD_RESPONSE and the connection is closed`, async (t) => {
      // The upstream keeps its side open: only the client can close it.
      const server = await startRaw(t, (socket) => socket.write(response));
      const pool = newPool(t, server.port);
      const rec = await fetchOnce(pool, get());
      assertFailed(rec, UPSTREAM_BAD_RESPONSE);
      await closedWithin(server.connections[0], 2000, 'the connection of a malformed response to close');
      assert.equal(pool.size, 0);
    });
  }
});

describe('request writing', () => {
  test('the head is the request line, the given headers in order, and a Host naming the endpoint', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(ok('ok')));
    const pool = newPool(t, server.port);
    const given: [string, string][] = [['X-First', '1'], ['accept', '*/*'], ['x-first', '2'], ['User-Agent', 'test/1.0']];
    assertEnded(await fetchOnce(pool, get('/items?id=1&b=%20', given.flat())), 'ok');
    const head = server.connections[0].heads[0];
    assert.equal(head.slice(0, head.indexOf('\r\n')), 'GET /items?id=1&b=%20 HTTP/1.1');
    const pairs = headerPairs(head);
    const givenNames = new Set(given.map(([n]) => n.toLowerCase()));
    assert.deepEqual(pairs.filter(([n]) => givenNames.has(n.toLowerCase())), given);
    assert.deepEqual(valuesOf(pairs, 'host'), [`${HOST}:${server.port}`]);
    assert.deepEqual([...valuesOf(pairs, 'content-length'), ...valuesOf(pairs, 'transfer-encoding')], [], 'a GET without a body declares none');
  });

  test('a Host in the headers is sent instead of the endpoint address', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(ok('ok')));
    const pool = newPool(t, server.port);
    assertEnded(await fetchOnce(pool, get('/', ['Host', 'shop.example.test', 'x-a', 'b'])), 'ok');
    assert.deepEqual(valuesOf(headerPairs(server.connections[0].heads[0]), 'host'), ['shop.example.test']);
  });

  test('without a body, POST, PUT and PATCH declare a zero length and GET and DELETE declare nothing', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(ok('ok')));
    const pool = newPool(t, server.port);
    const methods = ['POST', 'PUT', 'PATCH', 'GET', 'DELETE'];
    for (const method of methods) assertEnded(await fetchOnce(pool, { method, path: '/', headers: [], body: null }), 'ok');
    const heads = server.connections.flatMap((c) => c.heads);
    assert.equal(heads.length, methods.length);
    heads.forEach((head, i) => {
      const pairs = headerPairs(head);
      assert.ok(head.startsWith(`${methods[i]} / HTTP/1.1\r\n`), head);
      assert.deepEqual(valuesOf(pairs, 'content-length'), i < 3 ? ['0'] : [], `${methods[i]} content-length`);
      assert.deepEqual(valuesOf(pairs, 'transfer-encoding'), [], `${methods[i]} transfer-encoding`);
    });
  });

  test('a Buffer body is sent with its own Content-Length, replacing the declared one', async (t) => {
    const server = await startHttp(t);
    const pool = newPool(t, server.port);
    const rec = await fetchOnce(pool, { method: 'POST', path: '/upload', headers: ['Content-Length', '999', 'x-kept', 'yes'], body: Buffer.from('hello buffer') });
    assertEnded(rec, 'ok');
    const seen = server.requests[0];
    assert.deepEqual(rawHeaderValues(seen.rawHeaders, 'content-length'), ['12']);
    assert.deepEqual(rawHeaderValues(seen.rawHeaders, 'x-kept'), ['yes']);
    assert.equal(seen.body, 'hello buffer');
  });

  test('a stream body with a Content-Length is sent as it is, and each chunk is reported sent', async (t) => {
    const server = await startHttp(t);
    const pool = newPool(t, server.port);
    const body = Readable.from([Buffer.from('hello '), Buffer.from('stream '), Buffer.from('body')]);
    const rec = await fetchOnce(pool, { method: 'PUT', path: '/s', headers: ['content-length', '17'], body });
    assertEnded(rec, 'ok');
    const seen = server.requests[0];
    assert.deepEqual(rawHeaderValues(seen.rawHeaders, 'content-length'), ['17']);
    assert.deepEqual(rawHeaderValues(seen.rawHeaders, 'transfer-encoding'), []);
    assert.equal(seen.body, 'hello stream body');
    assert.equal(Buffer.concat(rec.sent).toString(), 'hello stream body');
    assert.ok(rec.calls.indexOf('bodySent') > rec.calls.indexOf('requestStart'), rec.calls.join(' '));
  });

  test('a stream body without a Content-Length is sent chunked', async (t) => {
    const server = await startHttp(t);
    const pool = newPool(t, server.port);
    const parts = ['first,', 'second,', 'x'.repeat(70_000)];
    const rec = await fetchOnce(pool, { method: 'POST', path: '/c', headers: ['x-a', 'b'], body: Readable.from(parts.map((p) => Buffer.from(p))) });
    assertEnded(rec, 'ok');
    const seen = server.requests[0];
    assert.deepEqual(rawHeaderValues(seen.rawHeaders, 'transfer-encoding'), ['chunked']);
    assert.deepEqual(rawHeaderValues(seen.rawHeaders, 'content-length'), []);
    assert.equal(seen.body, parts.join(''));
    assert.equal(Buffer.concat(rec.sent).toString(), parts.join(''));
  });

  test('an empty chunk in a streamed body does not end the chunked body early', async (t) => {
    // A zero-size chunk is the last chunk: what followed it would reach the upstream as a request of its own.
    const server = await startHttp(t);
    const pool = newPool(t, server.port);
    const body = Readable.from([Buffer.from('first,'), Buffer.alloc(0), Buffer.from('second')]);
    const rec = await fetchOnce(pool, { method: 'POST', path: '/empty-chunk', headers: [], body });
    assertEnded(rec, 'ok');
    assert.deepEqual(server.requests.map((r) => [r.url, r.body, r.complete]), [['/empty-chunk', 'first,second', true]]);
  });

  test('a stream body of strings is chunked by its bytes, not its characters', async (t) => {
    // A chunk size counted in characters frames multi-byte text wrongly: the upstream reads the
    // rest of the body as something else.
    const server = await startHttp(t);
    const pool = newPool(t, server.port);
    const parts = ['naïve ', 'café ', '🙂'];
    const rec = await fetchOnce(pool, { method: 'POST', path: '/text', headers: [], body: Readable.from(parts) });
    assertEnded(rec, 'ok');
    assert.equal(server.requests.length, 1);
    assert.equal(Buffer.from(server.requests[0].body, 'latin1').toString('utf8'), parts.join(''));
  });

  test('a stream body shorter than its Content-Length fails with REQUEST_BODY_FAILED and never looks complete upstream', async (t) => {
    const server = await startHttp(t);
    const pool = newPool(t, server.port);
    const rec = await fetchOnce(pool, { method: 'POST', path: '/short', headers: ['content-length', '20'], body: Readable.from([Buffer.from('only nine')]) });
    assertFailed(rec, REQUEST_BODY_FAILED);
    const seen = server.requests[0];
    assert.ok(seen !== undefined, 'the upstream saw the request head');
    await within(seen.closed, 2000, () => 'the connection of the short body to close');
    assert.equal(seen.complete, false);
    assert.equal(seen.body, 'only nine');
  });

  test('a stream body longer than its Content-Length fails with REQUEST_BODY_FAILED and its excess is never sent', async (t) => {
    // The excess would be a second request on the connection: a smuggled one.
    const server = await startRaw(t, () => {});
    const pool = newPool(t, server.port);
    const body = Readable.from([Buffer.from('hello'), Buffer.from('GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n')]);
    const rec = await fetchOnce(pool, { method: 'POST', path: '/long', headers: ['content-length', '5'], body });
    assertFailed(rec, REQUEST_BODY_FAILED);
    await sleep(50);
    const data = server.connections.map((c) => c.data).join('');
    assert.ok(!data.includes('smuggled'), `the upstream received ${JSON.stringify(data)}`);
  });

  test('a stream body that errors fails with REQUEST_BODY_FAILED and never looks complete upstream', async (t) => {
    const server = await startHttp(t);
    const pool = newPool(t, server.port);
    const body = new Readable({ read() {} });
    body.push('part of it');
    setTimeout(() => body.destroy(new Error('the client went away')), 50);
    const rec = await fetchOnce(pool, { method: 'POST', path: '/broken', headers: [], body });
    assertFailed(rec, REQUEST_BODY_FAILED);
    const seen = server.requests[0];
    assert.ok(seen !== undefined, 'the upstream saw the request head');
    await within(seen.closed, 2000, () => 'the connection of the failed body to close');
    assert.equal(seen.complete, false, 'the upstream must not see a complete chunked body (its last chunk)');
  });

  test('a CR or LF in the method, path or a header is refused with REQUEST_INVALID before anything is written', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(ok('ok')));
    const pool = newPool(t, server.port);
    // An idle connection the bad requests could be written on.
    assertEnded(await fetchOnce(pool, get('/first')), 'ok');
    const before = server.connections[0].data;
    const invalid: { name: string; request: UpstreamRequest }[] = [
      { name: 'CRLF in the method', request: { method: 'GET / HTTP/1.1\r\nX', path: '/', headers: [], body: null } },
      { name: 'CRLF in the path', request: get('/a HTTP/1.1\r\nInjected: 1\r\n\r\nGET /b') },
      { name: 'LF in the path', request: get('/a\nb') },
      { name: 'CRLF in a header name', request: get('/', ['X-A\r\nInjected', 'v']) },
      { name: 'CRLF in a header value', request: get('/', ['X-A', 'v\r\nInjected: 1']) },
      { name: 'LF in a header value', request: get('/', ['X-A', 'v\nInjected: 1']) },
      { name: 'CR in a header value', request: get('/', ['X-A', 'v\rInjected: 1']) },
      { name: 'CRLF in a header value of a POST with a body', request: { method: 'POST', path: '/', headers: ['X-A', 'v\r\n\r\nGET /smuggled HTTP/1.1'], body: Buffer.from('x') } },
    ];
    for (const { name, request } of invalid) {
      const rec = new Collector();
      assert.doesNotThrow(() => pool.dispatch(request, rec), name);
      await finish(rec);
      assertFailed(rec, REQUEST_INVALID);
      assert.ok(!rec.calls.includes('requestStart'), `${name}: onRequestStart means something was written`);
    }
    await sleep(50);
    assert.equal(server.connections.length, 1, 'no connection opened for an invalid request');
    assert.equal(server.connections[0].data, before, 'nothing more written on the idle connection');
    // The idle connection is still good.
    assertEnded(await fetchOnce(pool, get('/after')), 'ok');
    assert.equal(server.connections.length, 1);
  });
});

describe('connection reuse', () => {
  test('a request after a completed one reuses its idle connection', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(ok('ok')));
    const pool = newPool(t, server.port);
    assertEnded(await fetchOnce(pool, get('/1')), 'ok');
    assert.deepEqual({ size: pool.size, idle: pool.idle }, { size: 1, idle: 1 });
    assertEnded(await fetchOnce(pool, get('/2')), 'ok');
    assertEnded(await fetchOnce(pool, get('/3')), 'ok');
    assert.equal(server.connections.length, 1);
    assert.equal(server.connections[0].heads.length, 3);
  });

  for (const { name, response } of [
    { name: 'Connection: close', response: ok('ok', 'Connection: close\r\n') },
    { name: 'connection: CLOSE', response: ok('ok', 'connection: CLOSE\r\n') },
    { name: 'close among other connection options', response: ok('ok', 'Connection: x-private, close\r\n') },
    { name: 'HTTP/1.0 without keep-alive', response: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok' },
  ]) {
    test(`a response with ${name} is not reused`, async (t) => {
      // The upstream keeps its side open, so a client that reused it would be answered there.
      const server = await startRaw(t, (socket) => socket.write(response));
      const pool = newPool(t, server.port);
      assertEnded(await fetchOnce(pool, get('/1')), 'ok');
      assertEnded(await fetchOnce(pool, get('/2')), 'ok');
      assert.equal(server.connections.length, 2);
      assert.deepEqual(server.connections.map((c) => c.heads.length), [1, 1]);
      await closedWithin(server.connections[0], 2000, 'the client to close the connection it does not keep');
    });
  }

  test('after a body delimited by the close, the next request opens a new connection', async (t) => {
    const server = await startRaw(t, (socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nuntil close'));
    const pool = newPool(t, server.port);
    assertEnded(await fetchOnce(pool, get('/1')), 'until close');
    assertEnded(await fetchOnce(pool, get('/2')), 'until close');
    assert.equal(server.connections.length, 2);
  });

  test('concurrent requests each get a connection of their own', async (t) => {
    const n = 5;
    const waiting: Socket[] = [];
    // Answers once all n requests are in; a pool that queued them would get its answers only
    // from the fallback, on fewer connections.
    const answerAll = (): void => {
      for (const socket of waiting.splice(0)) socket.write(ok('ok'));
    };
    const fallback = setTimeout(answerAll, 1500);
    t.after(() => clearTimeout(fallback));
    const server = await startRaw(t, (socket) => {
      waiting.push(socket);
      if (waiting.length === n) answerAll();
    });
    const pool = newPool(t, server.port);
    const recs = Array.from({ length: n }, (_, i) => send(pool, get(`/${i}`)));
    for (const rec of recs) assertEnded(await finish(rec, 3000), 'ok');
    assert.equal(server.connections.length, n);
    assert.deepEqual({ size: pool.size, idle: pool.idle }, { size: n, idle: n });
  });

  test('an idle connection is closed after keepAliveTimeoutMs', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(ok('ok')));
    const pool = newPool(t, server.port, { keepAliveTimeoutMs: 300 });
    assertEnded(await fetchOnce(pool, get()), 'ok');
    await sleep(100);
    assert.equal(server.connections[0].isClosed, false, 'closed well before its idle time');
    // The deadline is checked by a coarse sweep: a second of slack beyond it, and more for load.
    await closedWithin(server.connections[0], 3000, 'the idle connection to close');
    assert.deepEqual({ size: pool.size, idle: pool.idle }, { size: 0, idle: 0 });
  });

  test('a Keep-Alive timeout from the upstream shorter than the pool\'s closes the idle connection sooner', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(ok('ok', 'Keep-Alive: timeout=2, max=100\r\n')));
    const pool = newPool(t, server.port, { keepAliveTimeoutMs: 60_000 });
    assertEnded(await fetchOnce(pool, get()), 'ok');
    await sleep(100);
    assert.equal(server.connections[0].isClosed, false, 'a 2 s hint keeps the connection for up to 1 s');
    // Kept at most 2 s - 1 s, then a sweep of up to about 1 s.
    await closedWithin(server.connections[0], 4000, 'the connection to close after the upstream\'s hint');
    assert.equal(pool.size, 0);
  });

  test('a Keep-Alive timeout from the upstream longer than the pool\'s does not extend the idle time', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(ok('ok', 'Keep-Alive: timeout=60\r\n')));
    const pool = newPool(t, server.port, { keepAliveTimeoutMs: 300 });
    assertEnded(await fetchOnce(pool, get()), 'ok');
    await closedWithin(server.connections[0], 3000, 'the idle connection to close after the pool\'s idle time');
  });

  test('an idle deadline does not cut the next request on the reused connection', async (t) => {
    // The second answer comes after the idle time and a sweep have passed.
    const server = await startRaw(t, (socket, _head, at) => {
      if (at.request === 0) socket.write(ok('first'));
      else setTimeout(() => socket.write(ok('late')), 1500);
    });
    const pool = newPool(t, server.port, { keepAliveTimeoutMs: 200 });
    assertEnded(await fetchOnce(pool, get('/1')), 'first');
    assertEnded(await fetchOnce(pool, get('/2'), 4000), 'late');
    assert.equal(server.connections.length, 1);
  });

  test('an answer the upstream sends on an idle connection is never taken for the next request\'s', async (t) => {
    // As servers that announce their idle timeout with a 408 before closing.
    const server = await startRaw(t, (socket, head, at) => {
      socket.write(ok(`${pathOf(head)} on ${at.connection}`));
      if (at.connection === 0) setTimeout(() => socket.write('HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n'), 30);
    });
    const pool = newPool(t, server.port);
    assertEnded(await fetchOnce(pool, get('/1')), '/1 on 0');
    await sleep(100);
    assertEnded(await fetchOnce(pool, get('/2')), '/2 on 1');
  });

  test('a request dispatched from onResponseEnd reuses the connection just released', async (t) => {
    // As a retry or a follow-up request does from the end of the previous one.
    const server = await startRaw(t, (socket, _head, at) => socket.write(ok(`answer ${at.request}`)));
    const pool = newPool(t, server.port);
    let next: Collector | undefined;
    const first = await finish(send(pool, get('/1'), { onResponseEnd: () => void (next = send(pool, get('/2'))) }));
    assertEnded(first, 'answer 0');
    assert.ok(next !== undefined);
    assertEnded(await finish(next), 'answer 1');
    assert.equal(server.connections.length, 1);
  });

  test('a Keep-Alive timeout of 1 s means the connection is not kept', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(ok('ok', 'Keep-Alive: timeout=1\r\n')));
    const pool = newPool(t, server.port);
    assertEnded(await fetchOnce(pool, get('/1')), 'ok');
    assertEnded(await fetchOnce(pool, get('/2')), 'ok');
    assert.equal(server.connections.length, 2);
    await closedWithin(server.connections[0], 2000, 'the connection not kept to close');
  });

  for (const how of ['end', 'destroy'] as const) {
    test(`an idle connection the upstream closed (${how}) is not used for the next request`, async (t) => {
      const server = await startRaw(t, (socket) => {
        socket.write(ok('ok'));
        // As an upstream whose idle timeout is shorter than ours.
        setTimeout(() => (how === 'end' ? socket.end() : socket.destroy()), 30);
      });
      const pool = newPool(t, server.port);
      assertEnded(await fetchOnce(pool, get('/1')), 'ok');
      await closedWithin(server.connections[0], 1000, 'the upstream to close');
      await sleep(30);
      assertEnded(await fetchOnce(pool, get('/2')), 'ok');
      assert.equal(server.connections.length, 2);
    });
  }
});

describe('backpressure and abort', () => {
  test('a paused response holds the upstream back, and after resume the whole body arrives intact', async (t) => {
    const total = 32 * 1024 * 1024;
    const chunkSize = 64 * 1024;
    let written = 0;
    const sent = createHash('sha256');
    const server = createHttpServer((_req, res) => {
      res.writeHead(200, { 'content-length': total });
      let n = 0;
      const pump = (): void => {
        while (written < total) {
          const chunk = Buffer.alloc(chunkSize, n % 251);
          chunk.writeUInt32BE(n++, 0);
          sent.update(chunk);
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    await listen(server);
    t.after(() => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }));
    const pool = newPool(t, (server.address() as AddressInfo).port);
    const received = createHash('sha256');
    const rec = send(pool, get('/large'), {
      onResponseStart: (controller) => controller.pause(),
      onResponseData: (_c, chunk) => void received.update(chunk),
    });
    await until(() => rec.status !== undefined, 2000, 'the response head');
    await sleep(400);
    const writtenWhilePaused = written;
    const deliveredWhilePaused = rec.bodyBytes();
    assert.ok(writtenWhilePaused < total / 2, `the upstream wrote ${writtenWhilePaused} of ${total} bytes while paused`);
    assert.ok(deliveredWhilePaused < total / 2, `${deliveredWhilePaused} bytes delivered while paused`);
    rec.controller?.resume();
    await finish(rec, 15_000);
    assert.equal(rec.error, undefined, rec.error?.message);
    assert.equal(rec.bodyBytes(), total);
    assert.equal(received.digest('hex'), sent.digest('hex'));
  });

  test('a response paused longer than bodyTimeoutMs is not cut: a slow reader is not a slow upstream', async (t) => {
    const size = 4 * 1024 * 1024;
    const server = await startRaw(t, (socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`);
      socket.write(Buffer.alloc(size, 'p'));
    });
    const pool = newPool(t, server.port, { bodyTimeoutMs: 300 });
    const rec = send(pool, get(), { onResponseStart: (controller) => controller.pause() });
    await until(() => rec.status !== undefined, 2000, 'the response head');
    // Longer than the body timeout and a sweep.
    await sleep(1500);
    assert.ok(!rec.calls.includes('error'), `cut while paused: ${rec.error?.code}`);
    rec.controller?.resume();
    await finish(rec, 5000);
    assert.equal(rec.error, undefined);
    assert.equal(rec.bodyBytes(), size);
  });

  test('abort ends the request once, with its reason, and the connection is not reused', async (t) => {
    const server = await startRaw(t, (socket, _head, at) => {
      // The first answer stalls halfway through its body.
      socket.write(at.connection === 0 ? 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello' : ok('fresh'));
    });
    const pool = newPool(t, server.port);
    const reason = new Error('the client went away');
    const rec = await finish(send(pool, get('/1'), { onResponseData: (controller) => controller.abort(reason) }));
    assert.equal(rec.error, reason);
    await closedWithin(server.connections[0], 2000, 'the aborted connection to close');
    assertEnded(await fetchOnce(pool, get('/2')), 'fresh');
    assert.equal(server.connections.length, 2);
  });

  for (const when of ['onResponseStart', 'onResponseData'] as const) {
    test(`abort in ${when} of a response that arrived in one write delivers nothing after the error`, async (t) => {
      const whole = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n0\r\n\r\n';
      const server = await startRaw(t, (socket) => socket.write(whole));
      const pool = newPool(t, server.port);
      const reason = new Error('the client went away');
      const abort = (controller: UpstreamController): void => controller.abort(reason);
      const rec = await finish(send(pool, get(), when === 'onResponseStart' ? { onResponseStart: abort } : { onResponseData: abort }));
      assert.equal(rec.error, reason);
      assert.deepEqual(rec.calls, when === 'onResponseStart' ? ['requestStart', 'responseStart', 'error'] : ['requestStart', 'responseStart', 'data', 'error']);
      assert.ok(rec.body().length <= 3, `body after the abort: ${JSON.stringify(rec.body())}`);
      await closedWithin(server.connections[0], 2000, 'the aborted connection to close');
      assert.equal(pool.size, 0);
    });
  }

  test('a response paused at its head, with its body already received, ends whole and leaves the connection reusable', async (t) => {
    // Bytes already read may still be delivered while paused; what matters is that nothing is
    // lost and the connection is not left paused for the next request.
    const server = await startRaw(t, (socket, _head, at) => socket.write(ok(at.request === 0 ? 'held back' : 'next')));
    const pool = newPool(t, server.port);
    const rec = send(pool, get('/1'), { onResponseStart: (controller) => controller.pause() });
    await until(() => rec.status !== undefined, 2000, 'the response head');
    await sleep(100);
    rec.controller?.resume();
    assertEnded(await finish(rec), 'held back');
    assertEnded(await fetchOnce(pool, get('/2')), 'next');
    assert.equal(server.connections.length, 1);
  });

  test('abort while waiting for the response head cuts the connection', async (t) => {
    const server = await startRaw(t, () => {});
    const pool = newPool(t, server.port);
    const reason = new Error('route timeout');
    const rec = send(pool, get(), { onRequestStart: (controller) => void setTimeout(() => controller.abort(reason), 50) });
    await finish(rec);
    assert.equal(rec.error, reason);
    await closedWithin(server.connections[0], 2000, 'the aborted connection to close');
    assert.equal(pool.size, 0);
  });

  test('abort after the end does nothing, and the connection stays reusable', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(ok('ok')));
    const pool = newPool(t, server.port);
    const rec = await fetchOnce(pool, get('/1'));
    assertEnded(rec, 'ok');
    rec.controller?.abort(new Error('too late'));
    await sleep(30);
    assert.deepEqual(rec.calls, ['requestStart', 'responseStart', 'data', 'end']);
    assert.equal(pool.idle, 1);
    assertEnded(await fetchOnce(pool, get('/2')), 'ok');
    assert.equal(server.connections.length, 1);
  });

  test('controller calls after a request ended do not touch the next request on the same connection', async (t) => {
    const server = await startRaw(t, (socket, _head, at) => {
      if (at.request === 0) return void socket.write(ok('first'));
      // The second body comes in two parts, so a pause of its connection would hold it back.
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234');
      setTimeout(() => socket.write('56789'), 100);
    });
    const pool = newPool(t, server.port);
    const first = await fetchOnce(pool, get('/1'));
    assertEnded(first, 'first');
    const stale = first.controller;
    assert.ok(stale !== undefined);
    const second = await finish(send(pool, get('/2'), {
      onResponseStart: () => {
        stale.pause();
        stale.abort(new Error('stale'));
      },
    }));
    assertEnded(second, '0123456789');
    assert.equal(server.connections.length, 1);
    assert.deepEqual(first.calls, ['requestStart', 'responseStart', 'data', 'end']);
  });
});

describe('failures', () => {
  test('a refused connection fails with ECONNREFUSED before the request starts', async (t) => {
    const pool = newPool(t, await freePort());
    const rec = await fetchOnce(pool, get());
    assertFailed(rec, 'ECONNREFUSED');
    assert.deepEqual(rec.calls, ['error']);
    assert.equal(pool.size, 0);
  });

  test('a connect that never completes fails with UPSTREAM_CONNECT_TIMEOUT before the request starts', async (t) => {
    const port = await unansweredPort(t);
    if (port === undefined) return void t.skip('a connect to a listener with a full accept queue completes on this machine');
    const pool = newPool(t, port, { connectTimeoutMs: 300 });
    const started = performance.now();
    const rec = await fetchOnce(pool, get(), 5000);
    assertFailed(rec, UPSTREAM_CONNECT_TIMEOUT);
    assert.ok(performance.now() - started >= 250, `failed after ${Math.round(performance.now() - started)} ms, before the 300 ms timeout`);
    assert.deepEqual(rec.calls, ['error']);
    assert.equal(pool.size, 0);
  });

  test('an upstream that accepts and never answers fails with UPSTREAM_HEADERS_TIMEOUT', async (t) => {
    const server = await startRaw(t, () => {});
    const pool = newPool(t, server.port, { headersTimeoutMs: 300 });
    const started = performance.now();
    const rec = await fetchOnce(pool, get(), 5000);
    assertFailed(rec, UPSTREAM_HEADERS_TIMEOUT);
    assert.ok(performance.now() - started >= 250, `failed after ${Math.round(performance.now() - started)} ms, before the 300 ms timeout`);
    assert.deepEqual(rec.calls, ['requestStart', 'error']);
    await closedWithin(server.connections[0], 2000, 'the timed-out connection to close');
  });

  test('a per-request headersTimeout overrides the pool\'s', async (t) => {
    const server = await startRaw(t, () => {});
    const pool = newPool(t, server.port, { headersTimeoutMs: 60_000 });
    const rec = await fetchOnce(pool, { ...get(), headersTimeout: 300 }, 5000);
    assertFailed(rec, UPSTREAM_HEADERS_TIMEOUT);
    assert.deepEqual(rec.calls, ['requestStart', 'error']);
  });

  test('a per-request headersTimeout longer than the pool\'s lets a slow answer through', async (t) => {
    // The answer comes after the pool's timeout and a sweep have passed.
    const server = await startRaw(t, (socket) => void setTimeout(() => socket.write(ok('slow')), 1300));
    const pool = newPool(t, server.port, { headersTimeoutMs: 200 });
    assertEnded(await fetchOnce(pool, { ...get(), headersTimeout: 5000 }, 5000), 'slow');
  });

  test('an upstream that stops reading an upload is not waited for forever', async (t) => {
    // Accepts and never reads: the upload fills the socket buffers and stalls. Without a clock
    // running during the upload, the request would hang with nothing to end it.
    const sockets: Socket[] = [];
    const server = createServer({ pauseOnConnect: true }, (socket) => void sockets.push(socket));
    await listen(server);
    t.after(() => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }));
    let produced = 0;
    const chunk = Buffer.alloc(64 * 1024, 'u');
    const body = new Readable({
      read() {
        if (produced >= 512 * 1024 * 1024) return void this.push(null);
        produced += chunk.length;
        this.push(chunk);
      },
    });
    t.after(() => body.destroy());
    const pool = newPool(t, (server.address() as AddressInfo).port, { headersTimeoutMs: 300, bodyTimeoutMs: 300 });
    const rec = await fetchOnce(pool, { method: 'POST', path: '/upload', headers: [], body }, 4000);
    assertFailed(rec, UPSTREAM_HEADERS_TIMEOUT, UPSTREAM_BODY_TIMEOUT);
    assert.ok(produced < 512 * 1024 * 1024, 'the upload was never held back');
  });

  for (const { name, pool: poolOptions, request } of [
    { name: 'the pool\'s bodyTimeoutMs', pool: { bodyTimeoutMs: 300 }, request: get() },
    { name: 'a per-request bodyTimeout', pool: { bodyTimeoutMs: 60_000 }, request: { ...get(), bodyTimeout: 300 } },
  ]) {
    test(`a body that stalls fails with UPSTREAM_BODY_TIMEOUT after ${name}`, async (t) => {
      const server = await startRaw(t, (socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
      const pool = newPool(t, server.port, poolOptions);
      const rec = await fetchOnce(pool, request, 5000);
      assertFailed(rec, UPSTREAM_BODY_TIMEOUT);
      assert.equal(rec.status, 200);
      assert.equal(rec.body(), 'abc');
      await closedWithin(server.connections[0], 2000, 'the stalled connection to close');
    });
  }

  test('a body that keeps coming, each pause shorter than bodyTimeoutMs, is not cut however long it takes', async (t) => {
    const pieces = 15;
    const server = await startRaw(t, (socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${pieces}\r\n\r\n`);
      let sent = 0;
      const trickle = setInterval(() => {
        if (socket.destroyed) return clearInterval(trickle);
        socket.write(String(sent % 10));
        if (++sent === pieces) clearInterval(trickle);
      }, 100);
    });
    // The whole exchange lasts longer than either timeout and a sweep.
    const pool = newPool(t, server.port, { bodyTimeoutMs: 500, headersTimeoutMs: 500 });
    assertEnded(await fetchOnce(pool, get(), 6000), '012345678901234');
  });

  for (const { name, close, codes } of [
    { name: 'closes', close: (s: Socket) => void s.end(), codes: [UPSTREAM_CLOSED] },
    { name: 'resets', close: (s: Socket) => void s.resetAndDestroy(), codes: [UPSTREAM_CLOSED, 'ECONNRESET'] },
  ]) {
    test(`an upstream that ${name} the connection after the request and before any response: ${codes.join(' or ')}, after onRequestStart`, async (t) => {
      const server = await startRaw(t, (socket) => close(socket));
      const pool = newPool(t, server.port);
      const rec = await fetchOnce(pool, get());
      assertFailed(rec, ...codes);
      assert.deepEqual(rec.calls, ['requestStart', 'error']);
      assert.equal(pool.size, 0);
    });
  }

  for (const { name, partial } of [
    { name: 'a Content-Length body', partial: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part' },
    { name: 'a chunked body', partial: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nonly part\r\n' },
  ]) {
    test(`a close in the middle of ${name} fails with UPSTREAM_CLOSED after the response started`, async (t) => {
      const server = await startRaw(t, (socket) => {
        socket.write(partial);
        setTimeout(() => socket.end(), 30);
      });
      const pool = newPool(t, server.port);
      const rec = await fetchOnce(pool, get());
      assertFailed(rec, UPSTREAM_CLOSED);
      assert.equal(rec.status, 200);
      assert.equal(rec.body(), 'only part');
      assert.deepEqual(rec.calls, ['requestStart', 'responseStart', 'data', 'error']);
      assert.equal(pool.size, 0);
    });
  }
});

describe('close and destroy', () => {
  test('close() closes idle connections at once, lets an in-flight request finish, then resolves', async (t) => {
    let slowSocket: Socket | undefined;
    const server = await startRaw(t, (socket, head) => {
      if (pathOf(head) === '/quick') socket.write(ok('quick'));
      else slowSocket = socket;
    });
    const pool = newPool(t, server.port);
    // Recorded in the callback itself: whoever awaits close() must find the request ended.
    const events: string[] = [];
    const slow = send(pool, get('/slow'), { onResponseEnd: () => void events.push('slow ended') });
    await until(() => slowSocket !== undefined, 2000, 'the slow request to arrive');
    assertEnded(await fetchOnce(pool, get('/quick')), 'quick');
    assert.deepEqual({ size: pool.size, idle: pool.idle }, { size: 2, idle: 1 });
    const quickConnection = server.connections.find((c) => c.heads.some((h) => pathOf(h) === '/quick'));
    assert.ok(quickConnection !== undefined);
    const closing = pool.close().then(() => events.push('close resolved'));
    assert.equal(pool.closed, true);
    // The idle connection closes while the slow one still waits for its answer; the answer
    // comes only after that (or late, if the pool waits for it, which fails below).
    const idleClosedFirst = await Promise.race([
      quickConnection.closed.then(() => true),
      sleep(1500).then(() => false),
    ]);
    slowSocket?.write(ok('slow answer'));
    assert.equal(idleClosedFirst, true, 'the idle connection was not closed while a request was in flight');
    assertEnded(await finish(slow), 'slow answer');
    await within(closing, 2000, () => 'close() to resolve');
    assert.deepEqual(events, ['slow ended', 'close resolved']);
    assert.equal(pool.size, 0);
    await closedWithin(server.connections.find((c) => c !== quickConnection), 2000, 'the connection of the finished request to close');
  });

  test('a dispatch after close() fails asynchronously with UPSTREAM_POOL_CLOSED', async (t) => {
    const server = await startRaw(t, (socket) => socket.write(ok('ok')));
    const pool = newPool(t, server.port);
    await within(pool.close(), 1000, () => 'close() of an idle pool to resolve');
    const rec = new Collector();
    assert.doesNotThrow(() => pool.dispatch(get(), rec));
    assert.deepEqual(rec.calls, [], 'the error comes after dispatch returns');
    await finish(rec);
    assertFailed(rec, UPSTREAM_POOL_CLOSED);
    assert.deepEqual(rec.calls, ['error']);
    assert.equal(server.connections.length, 0);
  });

  test('destroy() after close() cuts the request close() was waiting for, and both resolve', async (t) => {
    // A drain whose grace period ran out.
    const server = await startRaw(t, () => {});
    const pool = newPool(t, server.port);
    const hung = send(pool, get('/hung'));
    await until(() => server.connections.length === 1 && server.connections[0].heads.length === 1, 2000, 'the request to arrive');
    let closeResolved = false;
    const closing = pool.close().then(() => void (closeResolved = true));
    await sleep(50);
    assert.equal(closeResolved, false, 'close() resolved with a request in flight');
    await within(pool.destroy(), 2000, () => 'destroy() to resolve');
    await within(closing, 2000, () => 'close() to resolve after destroy()');
    await finish(hung);
    assert.ok(hung.error !== undefined, `the in-flight request ended with ${hung.calls.join(' ')}`);
    await closedWithin(server.connections[0], 2000, 'the connection to be cut');
  });

  test('destroy() fails in-flight requests and cuts every connection', async (t) => {
    const server = await startRaw(t, (socket, head) => {
      // One request gets part of its body, the other nothing.
      if (pathOf(head) === '/partial') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello');
    });
    const pool = newPool(t, server.port);
    const recs = [send(pool, get('/partial')), send(pool, get('/nothing'))];
    await until(() => server.connections.length === 2 && recs[0].status !== undefined, 2000, 'both requests to be in flight');
    await within(pool.destroy(), 2000, () => 'destroy() to resolve');
    assert.equal(pool.destroyed, true);
    for (const rec of recs) {
      await finish(rec);
      assert.ok(rec.error !== undefined, `an in-flight request ended with ${rec.calls.join(' ')}`);
    }
    for (const [i, c] of server.connections.entries()) await closedWithin(c, 2000, `connection ${i} to be cut`);
    assert.equal(pool.size, 0);
    const late = await fetchOnce(pool, get());
    assertFailed(late, UPSTREAM_POOL_CLOSED);
    assert.deepEqual(late.calls, ['error']);
  });
});
