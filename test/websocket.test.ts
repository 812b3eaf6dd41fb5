// WebSocket (HTTP/1.1 Upgrade) through HTTPRoutes: real `ws` backends, real clients (Node's
// global WebSocket and `ws`), on HTTP and HTTPS binds.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { DataPlane, PROXY_RETRY_CHANNEL, type ProxyRetryEvent } from '../src/dataplane/index.ts';
import type { IR, IRRoute } from '../src/ir/index.ts';
import { makeCA, makeLeafCertificate } from './helpers/certificates.ts';
import { httpsBind, httpsListener, irCertificate } from './helpers/https-client.ts';
import { backend, bind, forward, headerModifier, ir, listener, prefix, withRule } from './helpers/ir.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { closed, nextMessage, openWs, roundTrip, startEchoServer, type EchoServer } from './websocket-helpers.ts';

/** Text and binary both ways, then the close handshake, with Node's global WebSocket client. */
async function echoWithGlobalClient(url: string): Promise<void> {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const messages: (string | ArrayBuffer)[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener('message', (e) => {
    messages.push(e.data as string | ArrayBuffer);
    waiters.shift()?.();
  });
  const next = () => new Promise<string | ArrayBuffer>((resolve) => {
    if (messages.length > 0) return resolve(messages.shift()!);
    waiters.push(() => resolve(messages.shift()!));
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error(`WebSocket to ${url} failed`)));
  });
  ws.send('hello');
  assert.equal(await next(), 'echo:hello');
  const bytes = new Uint8Array([0, 1, 2, 250, 255]);
  ws.send(bytes);
  assert.deepEqual(new Uint8Array((await next()) as ArrayBuffer), bytes);
  const big = 'x'.repeat(200_000);
  ws.send(big);
  assert.equal(await next(), `echo:${big}`);
  const done = new Promise<CloseEvent>((resolve) => ws.addEventListener('close', resolve));
  ws.close(1000, 'bye');
  const event = await done;
  assert.equal(event.wasClean, true);
  assert.equal(event.code, 1000);
}

describe('WebSocket through an HTTPRoute (HTTP bind)', () => {
  let echo: EchoServer, plain: Upstream, refusing: Upstream, silent: Upstream, dp: DataPlane, port: number;
  const silentSockets: Duplex[] = [];
  const routes = (): IRRoute[] => [
    withRule(forward('rewritten', 'svc/echo', prefix('/chat')), {
      filters: {
        requestHeaders: headerModifier({ set: [['x-tenant', 'blue']], add: [['x-trace', 'gw']], remove: ['x-secret'] }),
        urlRewrite: { path: { type: 'ReplacePrefixMatch', value: '/ws/v2' } },
        responseHeaders: headerModifier({ set: [['x-route', 'chat']] }),
      },
    }),
    forward('echo', 'svc/echo', prefix('/echo')),
    forward('plain', 'svc/plain', prefix('/plain')),
    forward('refusing', 'svc/refusing', prefix('/refusing')),
    forward('dead', 'svc/dead', prefix('/dead')),
    forward('silent-request', 'svc/silent', prefix('/silent-request'), { requestMs: 300 }),
    withRule(forward('silent-backend', 'svc/silent', prefix('/silent-backend')), { timeouts: { backendRequestMs: 300 } }),
    forward('timed', 'svc/echo', prefix('/timed'), { requestMs: 300 }),
  ];
  const config = (extra: IRRoute[] = []): IR => ir([bind(port, [listener('gw/http', [...extra, ...routes()])])], [
    backend('svc/echo', [echo.port]), backend('svc/plain', [plain.port]), backend('svc/refusing', [refusing.port]),
    backend('svc/dead', []), backend('svc/silent', [silent.port]),
  ]);

  before(async () => {
    echo = await startEchoServer('echo');
    plain = await startUpstream('plain');
    // A backend that knows Upgrade but refuses it.
    refusing = await startUpstream('refusing');
    refusing.server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 7\r\nx-why: no\r\n\r\nrefused'));
    // A backend that takes the handshake and never answers it.
    silent = await startUpstream('silent');
    silent.server.on('upgrade', (_req, socket) => silentSockets.push(socket));
    port = await freePort();
    dp = new DataPlane({});
    const result = await dp.apply('v1', config());
    assert.deepEqual(result.binds, [{ name: `127.0.0.1:${port}` }]);
  });
  after(async () => {
    await dp.close(1000);
    for (const socket of silentSockets) socket.destroy();
    await Promise.all([echo.close(), plain.close(), refusing.close(), silent.close()]);
  });

  test('messages both ways, text and binary, and the close handshake (global WebSocket)', async () => {
    await echoWithGlobalClient(`ws://127.0.0.1:${port}/echo`);
  });

  test("the route's request header modifier and path rewrite reach the backend's handshake", async () => {
    const ws = await openWs(`ws://127.0.0.1:${port}/chat/room?x=1`, { headers: { host: 'ws.example', 'x-secret': 's', 'x-trace': 'c' } });
    assert.equal(await roundTrip(ws, 'hi'), 'echo:hi');
    // The ResponseHeaderModifier marks the 101 too.
    assert.equal((ws as unknown as { upgradeHeaders?: Record<string, string> }).upgradeHeaders?.['x-route'], 'chat');
    const seen = echo.handshakes.at(-1)!;
    assert.equal(seen.url, '/ws/v2/room?x=1');
    assert.equal(seen.headers['x-tenant'], 'blue');
    assert.equal(seen.headers['x-trace'], 'c,gw');
    assert.equal(seen.headers['x-secret'], undefined);
    assert.equal(seen.headers.host, 'ws.example');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers.upgrade, 'websocket');
    ws.close(1000);
    await closed(ws);
  });

  test('a POST that asks for Upgrade is an ordinary request: Upgrade is dropped, the body goes through', async () => {
    const text = await rawExchange(port, 'POST /plain HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n'
      + 'Content-Length: 3\r\nConnection: close\r\n\r\nabc');
    assert.match(text, /^HTTP\/1\.1 200 [^]*plain\n$/);
    const seen = plain.seen.at(-1)!;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.headers.upgrade, undefined);
  });

  test('a GET asking for Upgrade: h2c is an ordinary request, never a tunnel', async () => {
    const text = await rawExchange(port, 'GET /plain HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n'
      + 'HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n', 'GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    // Two answers on one connection: the first request was not turned into a tunnel.
    assert.equal(text.match(/HTTP\/1\.1 200 /g)?.length, 2, text);
    const seen = plain.seen.at(-2)!;
    assert.equal(seen.headers.upgrade, undefined);
    assert.equal(seen.headers['http2-settings'], undefined);
  });

  test('no route: 404, and the socket is closed', async () => {
    const err = await openWs(`ws://127.0.0.1:${port}/nowhere`).then(() => undefined, (e: { status?: number }) => e);
    assert.equal(err?.status, 404);
    // The raw connection: the answer, then the end of the stream.
    const text = await rawHandshake(port, '/nowhere');
    assert.match(text, /^HTTP\/1\.1 404 /);
    assert.match(text, /connection: close/i);
  });

  test('a backend that answers 200 or 400 instead of switching: that answer reaches the client', async () => {
    const ok = await openWs(`ws://127.0.0.1:${port}/plain`).then(() => undefined, (e: { status?: number; body?: string }) => e);
    assert.equal(ok?.status, 200);
    assert.equal(ok?.body, 'plain\n');
    const refused = await openWs(`ws://127.0.0.1:${port}/refusing`).then(() => undefined, (e: { status?: number; body?: string; headers?: Record<string, string> }) => e);
    assert.equal(refused?.status, 400);
    assert.equal(refused?.body, 'refused');
    assert.equal(refused?.headers?.['x-why'], 'no');
    assert.match(await rawHandshake(port, '/refusing'), /^HTTP\/1\.1 400 [^]*refused$/);
  });

  test('a backend without endpoints: 503', async () => {
    const err = await openWs(`ws://127.0.0.1:${port}/dead`).then(() => undefined, (e: { status?: number }) => e);
    assert.equal(err?.status, 503);
  });

  test('timeouts.request and timeouts.backendRequest bound the handshake (504), not the open connection', async () => {
    for (const path of ['/silent-request', '/silent-backend']) {
      const started = Date.now();
      const err = await openWs(`ws://127.0.0.1:${port}${path}`).then(() => undefined, (e: { status?: number }) => e);
      assert.equal(err?.status, 504, path);
      assert.ok(Date.now() - started < 5000, path);
    }
    const ws = await openWs(`ws://127.0.0.1:${port}/timed`);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(await roundTrip(ws, 'later'), 'echo:later');
    ws.close(1000);
    assert.equal(await closed(ws), 1000);
  });

  test('an open connection survives 20 configuration changes and keeps exchanging messages', async () => {
    const ws = await openWs(`ws://127.0.0.1:${port}/echo`);
    for (let i = 0; i < 20; i++) {
      const extra = i % 2 === 0 ? [forward(`extra-${i}`, 'svc/plain', prefix(`/extra-${i}`))] : [];
      await dp.apply(`v${i + 2}`, config(extra));
      assert.equal(await roundTrip(ws, `m${i}`), `echo:m${i}`);
    }
    ws.close(1000);
    assert.equal(await closed(ws), 1000);
  });
});

describe('WebSocket: balancing, draining and retries', () => {
  let echo: EchoServer, other: EchoServer;
  before(async () => {
    echo = await startEchoServer('echo');
    other = await startEchoServer('other');
  });
  after(async () => {
    await Promise.all([echo.close(), other.close()]);
  });

  test('removing the listener lets an open connection run, and cuts it when the grace period ends', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const dp = new DataPlane({ limits: { drainTimeoutMs: 1500 } });
    const route = [forward('echo', 'svc/echo')];
    const backends = [backend('svc/echo', [echo.port])];
    await dp.apply('v1', ir([bind(a, [listener('gw/a', route)]), bind(b, [listener('gw/b', route)])], backends));
    const ws = await openWs(`ws://127.0.0.1:${a}/`);
    const started = Date.now();
    await dp.apply('v2', ir([bind(b, [listener('gw/b', route)])], backends));
    // Still working while the bind drains.
    assert.equal(await roundTrip(ws, 'during'), 'echo:during');
    const code = await closed(ws);
    const took = Date.now() - started;
    assert.equal(code, 1006, 'cut, not closed by either peer');
    assert.ok(took >= 1000 && took < 10_000, `cut after the grace period (${took} ms)`);
    // The listener is gone; the other still takes handshakes.
    await assert.rejects(openWs(`ws://127.0.0.1:${a}/`));
    const ws2 = await openWs(`ws://127.0.0.1:${b}/`);
    assert.equal(await roundTrip(ws2, 'x'), 'echo:x');
    ws2.close(1000);
    await closed(ws2);
    await dp.close(1000);
  });

  test('an open connection counts as a request in flight for its endpoint until it closes (LeastRequest)', async () => {
    const port = await freePort();
    const dp = new DataPlane({});
    await dp.apply('v1', ir([bind(port, [listener('gw/http', [forward('echo', 'svc/both')])])], [
      { ...backend('svc/both', [echo.port, other.port]), policy: { loadBalancer: 'LeastRequest' } },
    ]));
    const inflight = () => dp.live!.backends.get('svc/both')!.balancer.endpoints.map((e) => e.inflight);
    const sockets: { ws: Awaited<ReturnType<typeof openWs>>; name: string }[] = [];
    try {
      for (let i = 0; i < 6; i++) {
        const ws = await openWs(`ws://127.0.0.1:${port}/`);
        sockets.push({ ws, name: (await roundTrip(ws, 'who')).split(':')[0] });
      }
      // Each new handshake went to the endpoint with fewer open connections.
      assert.deepEqual(sockets.map((s) => s.name).sort(), ['echo', 'echo', 'echo', 'other', 'other', 'other']);
      assert.deepEqual(inflight(), [3, 3]);
      const onEcho = sockets.filter((s) => s.name === 'echo').slice(0, 2);
      for (const s of onEcho) s.ws.close(1000);
      await Promise.all(onEcho.map((s) => closed(s.ws)));
      await waitFor(() => inflight()[0] === 1);
      assert.deepEqual(inflight(), [1, 3]);
      for (let i = 0; i < 2; i++) {
        const ws = await openWs(`ws://127.0.0.1:${port}/`);
        assert.equal((await roundTrip(ws, 'again')).split(':')[0], 'echo');
        sockets.push({ ws, name: 'echo' });
      }
    } finally {
      for (const s of sockets) s.ws.close(1000);
      await Promise.all(sockets.map((s) => closed(s.ws)));
      await dp.close(1000);
    }
  });

  test('a sticky backend: the 101 sets the cookie, and a handshake that carries it reaches the same endpoint', async () => {
    const port = await freePort();
    const dp = new DataPlane({});
    await dp.apply('v1', ir([bind(port, [listener('gw/http', [forward('echo', 'svc/both')])])], [
      { ...backend('svc/both', [echo.port, other.port]), policy: { stickySession: { mode: 'Balanced', cookieName: 'ws-affinity' } } },
    ]));
    try {
      const first = await openWs(`ws://127.0.0.1:${port}/`);
      const name = (await roundTrip(first, 'who')).split(':')[0];
      const setCookie = (first as unknown as { upgradeHeaders?: Record<string, string[]> }).upgradeHeaders?.['set-cookie'];
      assert.match(String(setCookie), /^ws-affinity=/);
      first.close(1000);
      await closed(first);
      const cookie = String(setCookie).split(';')[0];
      for (let i = 0; i < 4; i++) {
        const ws = await openWs(`ws://127.0.0.1:${port}/`, { headers: { cookie } });
        assert.equal((await roundTrip(ws, 'again')).split(':')[0], name);
        assert.equal((ws as unknown as { upgradeHeaders?: Record<string, unknown> }).upgradeHeaders?.['set-cookie'], undefined);
        ws.close(1000);
        await closed(ws);
      }
    } finally {
      await dp.close(1000);
    }
  });

  test('HTTPRoute sessionPersistence: the 101 carries the session, and a handshake with it reaches the same endpoint', async () => {
    const port = await freePort();
    const dp = new DataPlane({});
    const route: IRRoute = {
      ...forward('echo', [{ weight: 1, backend: 'svc/echo' }, { weight: 1, backend: 'svc/other' }]),
      action: {
        type: 'Forward', backends: [{ weight: 1, backend: 'svc/echo' }, { weight: 1, backend: 'svc/other' }],
        sessionPersistence: { name: 'chat-session', type: 'Header', lifetime: 'Session', path: '/', secure: false },
      },
    };
    await dp.apply('v1', ir([bind(port, [listener('gw/http', [route])])], [backend('svc/echo', [echo.port]), backend('svc/other', [other.port])]));
    try {
      const first = await openWs(`ws://127.0.0.1:${port}/`);
      const name = (await roundTrip(first, 'who')).split(':')[0];
      const token = (first as unknown as { upgradeHeaders?: Record<string, string> }).upgradeHeaders?.['chat-session'];
      assert.ok(token !== undefined && token !== '', 'the 101 carries the session header');
      first.close(1000);
      await closed(first);
      for (let i = 0; i < 4; i++) {
        const ws = await openWs(`ws://127.0.0.1:${port}/`, { headers: { 'chat-session': token } });
        assert.equal((await roundTrip(ws, 'again')).split(':')[0], name);
        ws.close(1000);
        await closed(ws);
      }
    } finally {
      await dp.close(1000);
    }
  });

  test('a connection failure to the first endpoint is retried on another, and ejects it after 5', async () => {
    const port = await freePort();
    const deadPort = await freePort(); // nothing listens there: connection refused
    const dp = new DataPlane({});
    await dp.apply('v1', ir([bind(port, [listener('gw/http', [forward('echo', 'svc/echo')])])], [
      backend('svc/echo', [deadPort, echo.port]),
    ]));
    const retries: ProxyRetryEvent[] = [];
    const onRetry = (m: unknown): void => void retries.push(m as ProxyRetryEvent);
    subscribe(PROXY_RETRY_CHANNEL, onRetry);
    try {
      // Round robin over [dead, echo]: more than half of the handshakes pick the dead endpoint first.
      for (let i = 0; i < 12; i++) {
        const ws = await openWs(`ws://127.0.0.1:${port}/`);
        assert.equal(await roundTrip(ws, `r${i}`), `echo:r${i}`);
        ws.close(1000);
        await closed(ws);
      }
    } finally {
      unsubscribe(PROXY_RETRY_CHANNEL, onRetry);
      await dp.close(1000);
    }
    // Outlier detection counts the refused handshakes: after 5 in a row (consecutiveGatewayFailure) the endpoint is ejected.
    assert.equal(retries.length, 5);
    for (const r of retries) assert.deepEqual([r.endpoint, r.code, r.written, r.attempt], [`127.0.0.1:${deadPort}`, 'ECONNREFUSED', false, 2]);
  });

  test('a shutdown lets an open connection go on until the grace period, then cuts it', async () => {
    const port = await freePort();
    const dp = new DataPlane({});
    await dp.apply('v1', ir([bind(port, [listener('gw/http', [forward('echo', 'svc/other')])])], [backend('svc/other', [other.port])]));
    const ws = await openWs(`ws://127.0.0.1:${port}/`);
    const closing = dp.close(800);
    assert.equal(await roundTrip(ws, 'still'), 'other:still');
    assert.equal(await closed(ws), 1006);
    await closing;
  });
});

describe('WebSocket through an HTTPS bind', () => {
  let echo: EchoServer, dp: DataPlane, port: number, ca: string;
  before(async () => {
    const authority = makeCA();
    ca = authority.certPem;
    const cert = irCertificate('ws', makeLeafCertificate(authority, ['ws.example'], { keyType: 'ecdsa' }), ['ws.example']);
    const other = irCertificate('other', makeLeafCertificate(authority, ['other.example'], { keyType: 'ecdsa' }), ['other.example']);
    echo = await startEchoServer('echo');
    port = await freePort();
    dp = new DataPlane({});
    await dp.apply('v1', {
      ...ir([httpsBind(port, [
        httpsListener('gw/ws', [forward('echo', 'svc/echo')], 'ws.example', [cert]),
        httpsListener('gw/other', [forward('other', 'svc/echo', prefix('/other'))], 'other.example', [other]),
      ])], [backend('svc/echo', [echo.port])]),
      certificates: [other, cert],
    });
  });
  after(async () => {
    await dp.close(1000);
    await echo.close();
  });

  test('messages both ways, text and binary, and the close handshake', async () => {
    const ws = await openWs(`wss://127.0.0.1:${port}/`, { ca, servername: 'ws.example', headers: { host: 'ws.example' } });
    assert.equal(await roundTrip(ws, 'secure'), 'echo:secure');
    const reply = nextMessage(ws);
    ws.send(Buffer.from([9, 8, 7]), { binary: true });
    const [data, binary] = await reply;
    assert.equal(binary, true);
    assert.deepEqual([...data], [9, 8, 7]);
    assert.equal(echo.handshakes.at(-1)!.headers['x-forwarded-proto'], 'https');
    ws.close(1000, 'done');
    assert.equal(await closed(ws), 1000);
    await waitFor(() => echo.closes.at(-1) === 1000);
  });

  test("a handshake whose Host belongs to another listener than the server name: 421", async () => {
    const err = await openWs(`wss://127.0.0.1:${port}/other`, { ca, servername: 'ws.example', headers: { host: 'other.example' } })
      .then(() => undefined, (e: { status?: number }) => e);
    assert.equal(err?.status, 421);
  });
});

/** Sends a WebSocket handshake on a raw socket; resolves with all it got until the server closed. */
function rawHandshake(port: number, path: string): Promise<string> {
  return rawExchange(port, `GET ${path} HTTP/1.1\r\nHost: ws.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n`
    + 'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
}

/** Writes `request` on a raw socket (then `next` once an answer came); resolves with all it got until the server closed. */
function rawExchange(port: number, request: string, next?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (d) => {
      text += d;
      if (next !== undefined && text.endsWith('\n')) {
        socket.write(next);
        next = undefined;
      }
    });
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    socket.write(request);
  });
}

async function waitFor(ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
