// The upstream HTTP/1.1 client (src/dataplane/upstream/, EndpointPool), the messages: how
// responses are framed and read, and how requests are written, against real sockets on 127.0.0.1
// (raw TCP servers writing crafted bytes, and node:http servers).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EndpointPool } from '../src/dataplane/upstream/pool.ts';
import { REQUEST_BODY_FAILED, REQUEST_INVALID, UPSTREAM_BAD_RESPONSE, type UpstreamRequest } from '../src/dataplane/upstream/types.ts';
import {
  HOST, Collector, within, until, finish, fetchOnce, get, assertEnded, assertFailed, newPool, startRaw, ok, headerPairs, valuesOf, closedWithin, startHttp, rawHeaderValues,
} from './helpers/upstream-client.ts';

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

