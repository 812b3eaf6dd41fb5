// The upstream HTTP/1.1 client (src/dataplane/upstream/, EndpointPool), the connections: reuse
// and keep-alive, backpressure and abort, failures and timeouts, close and destroy, against real
// sockets on 127.0.0.1.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { unansweredPort } from './helpers/unanswered-port.ts';
import { EndpointPool } from '../src/dataplane/upstream/pool.ts';
import {
  UPSTREAM_BODY_TIMEOUT, UPSTREAM_CLOSED, UPSTREAM_CONNECT_TIMEOUT, UPSTREAM_HEADERS_TIMEOUT, UPSTREAM_POOL_CLOSED, type UpstreamController,
} from '../src/dataplane/upstream/types.ts';
import { freePort } from './helpers/ports.ts';
import {
  Collector, within, until, finish, send, fetchOnce, get, assertEnded, assertFailed, newPool, startRaw, listen, ok, pathOf, closedWithin,
} from './helpers/upstream-client.ts';

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

