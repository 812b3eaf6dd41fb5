// The fast path of plain HTTP binds (src/dataplane/fast/), seen from a raw client socket: the exact
// bytes a client sends and the answers it reads, including the hand-off to node's HTTP server.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { DataPlane } from '../src/dataplane/index.ts';
import { backend, bind, forward, headerModifier, ir, listener, prefix, withRule } from './helpers/ir.ts';
import { freePort } from './helpers/ports.ts';
import { startProxy, type ProxyFixture } from './helpers/proxy-fixture.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

interface RawAnswer {
  status: number;
  /** Lower-case names; repeated fields joined with ', '. */
  headers: Record<string, string>;
  body: string;
}

// Bounds are generous: a loaded machine must not turn a slow answer into a failure.
const WAIT_MS = 3000;

/** A raw client connection that reads whole HTTP/1.1 answers off the bytes it receives. */
class RawClient {
  readonly socket: Socket;
  #buf = Buffer.alloc(0);
  ended = false;
  closed = false;
  #wake: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buf = Buffer.concat([this.#buf, chunk]);
      this.#notify();
    });
    socket.on('end', () => {
      this.ended = true;
      this.#notify();
    });
    socket.on('close', () => {
      this.closed = true;
      this.#notify();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    this.socket.write(text, 'latin1');
  }

  /** Bytes received and not yet read as an answer. */
  get rest(): string {
    return this.#buf.toString('latin1');
  }

  /** The next whole answer; `head`: the request was HEAD, so the answer has no body. */
  async answer(head = false): Promise<RawAnswer> {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const parsed = parseAnswer(this.#buf, head, this.ended);
      if (parsed !== undefined) {
        this.#buf = this.#buf.subarray(parsed.used);
        return parsed.answer;
      }
      if (this.ended) throw new Error(`connection ended before a whole answer; got ${JSON.stringify(this.rest)}`);
      await this.#next(deadline, () => `no whole answer in ${WAIT_MS} ms; got ${JSON.stringify(this.rest)}`);
    }
  }

  /** Resolves when the server has ended the connection (FIN or close); rejects after `ms`. */
  async untilEnd(ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.ended && !this.closed) await this.#next(deadline, () => `connection still open after ${ms} ms`);
  }

  destroy(): void {
    this.socket.destroy();
  }

  #next(deadline: number, message: () => string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        reject(new Error(message()));
      }, Math.max(0, deadline - Date.now()));
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  #notify(): void {
    this.#wake?.();
  }
}

/** One answer from the start of `buf`, with the bytes it took; undefined while incomplete. */
function parseAnswer(buf: Buffer, head: boolean, ended: boolean): { answer: RawAnswer; used: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let pos = end + 4;
  if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) return { answer: { status, headers, body: '' }, used: pos };
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.toString('latin1', pos, lineEnd), 16);
      if (size === 0) {
        if (buf.length < lineEnd + 4) return undefined;
        return { answer: { status, headers, body: Buffer.concat(parts).toString() }, used: lineEnd + 4 };
      }
      if (buf.length < lineEnd + 2 + size + 2) return undefined;
      parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
      pos = lineEnd + 2 + size + 2;
    }
  }
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (buf.length < pos + length) return undefined;
    return { answer: { status, headers, body: buf.toString('utf8', pos, pos + length) }, used: pos + length };
  }
  // No length: the body runs to the end of the connection.
  if (!ended) return undefined;
  return { answer: { status, headers, body: buf.toString('utf8', pos) }, used: buf.length };
}

/** Every whole answer the connection gets until the server ends it. */
async function answersUntilEnd(client: RawClient): Promise<RawAnswer[]> {
  const answers: RawAnswer[] = [];
  for (;;) {
    if (client.rest.length === 0) {
      try {
        await client.untilEnd();
      } catch {
        return answers;
      }
      if (client.rest.length === 0) return answers;
    }
    answers.push(await client.answer());
  }
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The echo upstream: `<METHOD> <url> <body>`, with a length; /stream without one; /hang never finishes. */
function echoHandler(hung: { resolveClose?: () => void }) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.setHeader('x-upstream', 'echo');
      if (req.url === '/stream') {
        // Two writes apart: node sends them chunked, so the proxy never learns a length.
        res.write('first;');
        setTimeout(() => res.end('second'), 50);
        return;
      }
      if (req.url === '/hang') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
        res.on('close', () => hung.resolveClose?.());
        return;
      }
      const body = `${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`;
      // node sends no length for a HEAD answer unless told: say what a GET would have got.
      if (req.method === 'HEAD') res.setHeader('content-length', String(Buffer.byteLength(body)));
      res.end(req.method === 'HEAD' ? undefined : body);
    });
  };
}

describe('fast path on a plain HTTP bind', () => {
  let echo: Upstream, proxy: ProxyFixture;
  const hung: { resolveClose?: () => void } = {};
  before(async () => {
    echo = await startUpstream('echo', echoHandler(hung));
    proxy = await startProxy([listener('gw/http', [
      withRule(forward('filtered', 'svc/echo', prefix('/filtered')), { filters: { requestHeaders: headerModifier({ set: [['x-filtered', 'yes']] }) } }),
      forward('all', 'svc/echo'),
    ])], [backend('svc/echo', [echo.port])]);
  });
  after(async () => {
    await proxy.close();
    await echo.close();
  });

  test('keep-alive: three GETs one after another on one connection, each answered in order', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      for (const path of ['/one', '/two', '/three']) {
        client.write(`GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`);
        const res = await client.answer();
        assert.equal(res.status, 200);
        assert.equal(res.body, `GET ${path} `);
        assert.match(res.headers['keep-alive'] ?? '', /^timeout=\d+$/);
        assert.ok(res.headers.date !== undefined && !Number.isNaN(Date.parse(res.headers.date)), 'a date');
        assert.equal(res.headers['x-upstream'], 'echo', "the upstream's own header");
        assert.notEqual(res.headers.connection, 'close');
      }
      assert.equal(client.ended, false, 'still open');
    } finally {
      client.destroy();
    }
  });

  test('pipelining: two GETs in one write get two answers in order', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.write('GET /first HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n');
      const first = await client.answer();
      const second = await client.answer();
      assert.deepEqual([first.status, first.body, second.status, second.body], [200, 'GET /first ', 200, 'GET /second ']);
    } finally {
      client.destroy();
    }
  });

  test("HEAD: the upstream's content-length, no body, and the connection goes on", async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.write('HEAD /head HTTP/1.1\r\nHost: a\r\n\r\n');
      const head = await client.answer(true);
      assert.equal(head.status, 200);
      assert.equal(head.headers['content-length'], String('HEAD /head '.length));
      assert.equal(head.headers['transfer-encoding'], undefined);
      // Nothing after the head: the next bytes must be the next answer's status line.
      client.write('GET /after HTTP/1.1\r\nHost: a\r\n\r\n');
      const next = await client.answer();
      assert.equal(next.status, 200);
      assert.equal(next.body, 'GET /after ');
    } finally {
      client.destroy();
    }
  });

  test('an upstream body without a length goes chunked, exact, and the connection stays usable', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.write('GET /stream HTTP/1.1\r\nHost: a\r\n\r\n');
      const res = await client.answer();
      assert.equal(res.status, 200);
      assert.equal(res.headers['transfer-encoding'], 'chunked');
      assert.equal(res.headers['content-length'], undefined);
      assert.equal(res.body, 'first;second');
      client.write('GET /again HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.answer()).body, 'GET /again ');
    } finally {
      client.destroy();
    }
  });

  test('hand-off: GET (fast), POST with a body (node), GET again, on one connection', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.answer()).body, 'GET /a ');
      client.write('POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
      const post = await client.answer();
      assert.equal(post.status, 200);
      assert.equal(post.body, 'POST /b hello');
      client.write('GET /c HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.answer()).body, 'GET /c ');
    } finally {
      client.destroy();
    }
  });

  test('hand-off of pipelined requests: what follows a fast answer reaches node whole', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\nPOST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET /c HTTP/1.1\r\nHost: a\r\n\r\n');
      const bodies = [(await client.answer()).body, (await client.answer()).body, (await client.answer()).body];
      assert.deepEqual(bodies, ['GET /a ', 'POST /b hello', 'GET /c ']);
    } finally {
      client.destroy();
    }
  });

  test('malformed heads (an obs-fold line, a space before the colon) get 400 from node, and are not forwarded', async () => {
    for (const head of ['GET /fold HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n', 'GET /space HTTP/1.1\r\nHost : a\r\n\r\n']) {
      const before = echo.seen.length;
      const client = await RawClient.open(proxy.port);
      try {
        client.write(head);
        assert.equal((await client.answer()).status, 400, JSON.stringify(head));
        await client.untilEnd();
        assert.equal(echo.seen.length, before, `not forwarded: ${JSON.stringify(head)}`);
      } finally {
        client.destroy();
      }
    }
  });

  test('HTTP/1.0 without Host is answered on node\'s path, and the connection closes after it', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.write('GET /old HTTP/1.0\r\n\r\n');
      const res = await client.answer();
      assert.equal(res.status, 200);
      assert.equal(res.body, 'GET /old ');
      // node answers an HTTP/1.0 request without keep-alive, then closes.
      await client.untilEnd();
    } finally {
      client.destroy();
    }
  });

  test('a head over maxHeaderBytes gets 431', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.write(`GET /big HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(17 * 1024)}\r\n\r\n`);
      const res = await client.answer();
      assert.equal(res.status, 431);
      await client.untilEnd();
    } finally {
      client.destroy();
    }
  });

  test('Connection: close is answered with connection: close, then the server closes', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.write('GET /bye HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      const res = await client.answer();
      assert.equal(res.status, 200);
      assert.equal(res.headers.connection, 'close');
      assert.equal(res.headers['keep-alive'], undefined);
      assert.equal(res.body, 'GET /bye ');
      await client.untilEnd();
      assert.equal(client.rest, '', 'nothing after the answer');
    } finally {
      client.destroy();
    }
  });

  test('a client that half-closes is gone, as on node\'s path: no answer, and the connection ends', async () => {
    // node's server (without httpAllowHalfOpen) aborts the request of a client that ends its
    // side; the fast path does the same, so the two paths cannot be told apart.
    for (const request of ['GET /half HTTP/1.1\r\nHost: a\r\n\r\n', 'GET /half HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n']) {
      const client = await RawClient.open(proxy.port);
      try {
        client.socket.end(request, 'latin1');
        await client.untilEnd();
        assert.equal(client.rest, '', `no answer to ${JSON.stringify(request)}`);
      } finally {
        client.destroy();
      }
    }
  });

  test('a filtered route after a fast GET: the upstream sees the header, and a GET after it works', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.write('GET /plain HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.answer()).body, 'GET /plain ');
      client.write('GET /filtered/x HTTP/1.1\r\nHost: a\r\n\r\n');
      const filtered = await client.answer();
      assert.equal(filtered.status, 200);
      assert.equal(filtered.body, 'GET /filtered/x ');
      const seen = echo.seen.findLast((s) => s.url === '/filtered/x');
      assert.equal(seen?.headers['x-filtered'], 'yes');
      client.write('GET /later HTTP/1.1\r\nHost: a\r\n\r\n');
      assert.equal((await client.answer()).body, 'GET /later ');
    } finally {
      client.destroy();
    }
  });

  /** Sends `request` for /hang, waits for the first body bytes, closes; resolves when the upstream's request closes. */
  async function closeMidResponse(request: string): Promise<void> {
    const closed = new Promise<void>((resolve) => { hung.resolveClose = resolve; });
    const client = await RawClient.open(proxy.port);
    try {
      client.write(request);
      // The head and the first bytes: the response is under way.
      const deadline = Date.now() + WAIT_MS;
      while (!client.rest.includes('partial') && Date.now() < deadline) await delay(10);
      assert.match(client.rest, /^HTTP\/1\.1 200 /);
      client.destroy();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('upstream request still open 2 s after the client left')), 2000);
      });
      await Promise.race([closed, timeout]).finally(() => clearTimeout(timer));
    } finally {
      client.destroy();
      hung.resolveClose = undefined;
    }
  }

  test('the client closing mid-response aborts the upstream request (fast path)', async () => {
    await closeMidResponse('GET /hang HTTP/1.1\r\nHost: a\r\n\r\n');
  });

  test('the client closing mid-response aborts the upstream request (node path, for comparison)', async () => {
    // A Content-Length keeps the request off the fast path.
    await closeMidResponse('GET /hang HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n');
  });

  test('no smuggling: a GET with Content-Length is read as node reads it', async () => {
    const bytes = 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n';
    // A plain node server in front, answering 200 to whatever it parses.
    const plain = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end(`${req.method} ${req.url}`));
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const plainPort = (plain.address() as AddressInfo).port;
    try {
      const reference = await RawClient.open(plainPort);
      reference.write(bytes);
      const expected = await answersUntilEnd(reference);
      reference.destroy();
      const before = echo.seen.length;
      const client = await RawClient.open(proxy.port);
      client.write(bytes);
      const got = await answersUntilEnd(client);
      client.destroy();
      // node reads `GET /` as the first request's five-byte body and `x HTTP/1.1` as the next
      // request line, which is invalid. It parses the whole chunk at once, so the parse error
      // answers 400 and closes before the first request's handler could answer: one 400, nothing
      // else. Waygate hands such a request to node, so the client must see exactly the same.
      assert.deepEqual(expected.map((a) => a.status), [400], 'what node does');
      assert.deepEqual(got.map((a) => [a.status, a.headers.connection]), expected.map((a) => [a.status, a.headers.connection]));
      const urls = echo.seen.slice(before).map((s) => s.url);
      assert.ok(!urls.includes('/x'), `no request for /x reached the upstream (saw ${JSON.stringify(urls)})`);
    } finally {
      plain.closeAllConnections();
      await new Promise<void>((resolve) => plain.close(() => resolve()));
    }
  });

  test('a GET with Transfer-Encoding: chunked is read by node, body included', async () => {
    const client = await RawClient.open(proxy.port);
    try {
      client.write('GET /te HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n');
      const res = await client.answer();
      assert.equal(res.status, 200);
      assert.equal(res.body, 'GET /te hello');
      assert.equal((await client.answer()).body, 'GET /next ');
    } finally {
      client.destroy();
    }
  });
});

describe('fast path client timeouts', () => {
  let echo: Upstream, dp: DataPlane, port: number;
  before(async () => {
    echo = await startUpstream('echo');
    port = await freePort();
    dp = new DataPlane({ limits: { clientKeepAliveTimeoutMs: 300, clientHeadersTimeoutMs: 300 } });
    const result = await dp.apply('v1', ir([bind(port, [listener('gw/http', [forward('all', 'svc/echo')])])], [backend('svc/echo', [echo.port])]));
    const error = result.binds.find((b) => b.error !== undefined);
    if (error !== undefined) throw new Error(`bind failed: ${error.error}`);
  });
  after(async () => {
    await dp.close(1000);
    await echo.close();
  });

  test('an idle connection after an answer is closed by the server', async () => {
    const client = await RawClient.open(port);
    try {
      client.write('GET /idle HTTP/1.1\r\nHost: a\r\n\r\n');
      const res = await client.answer();
      assert.equal(res.status, 200);
      assert.equal(res.body, 'echo\n');
      const idleSince = Date.now();
      await client.untilEnd(2000);
      // Not at once either: the sweep fires at most a tick late, never early (the bound leaves room for a slow client read).
      assert.ok(Date.now() - idleSince >= 100, `closed after ${Date.now() - idleSince} ms`);
      assert.equal(client.rest, '', 'closed without an answer');
    } finally {
      client.destroy();
    }
  });

  test('a partial head that never completes gets 408, as from node\'s server, and the close', async () => {
    const client = await RawClient.open(port);
    try {
      client.write('GET /partial HTTP/1.1\r\nHost: a\r\n');
      await client.untilEnd(2000);
      assert.match(client.rest, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    } finally {
      client.destroy();
    }
  });

  test('a connection that sends nothing is closed by the server', async () => {
    const client = await RawClient.open(port);
    try {
      await client.untilEnd(2000);
    } finally {
      client.destroy();
    }
  });
});
