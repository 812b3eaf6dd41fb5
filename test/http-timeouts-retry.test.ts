// HTTPRouteRule.timeouts (request: the whole request; backendRequest: each attempt) and
// HTTPRouteRule.retry (codes, attempts, backoff, bounded by the request timeout), against
// real upstreams that answer late, fail or close.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RETRY_BODY_BUFFER_BYTES } from '../src/dataplane/filters/extended-request.ts';
import type { IRRouteRetry, IRTimeouts } from '../src/ir/index.ts';
import { backend, forward, listener, prefix, withRule } from './helpers/ir.ts';
import { startProxy, type ProxyFixture } from './helpers/proxy-fixture.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { unansweredPort } from './helpers/unanswered-port.ts';

/**
 * Answers by the request's path: `/<prefix>/<key>/<plan>` where plan is a comma list of what
 * each successive request with that key gets: a status, `hang` (never answers), `close`
 * (destroys the connection), or `late` (200 after 600 ms). Arrival times are recorded per key.
 */
function scripted(): {
  handler: (req: IncomingMessage, res: ServerResponse) => void; arrivals: Map<string, number[]>; bodies: Map<string, string[]>;
} {
  const arrivals = new Map<string, number[]>();
  const bodies = new Map<string, string[]>();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const [, , key, plan] = (req.url ?? '').split('/');
    const seen = arrivals.get(key) ?? [];
    seen.push(performance.now());
    arrivals.set(key, seen);
    let body = '';
    req.on('data', (c: Buffer) => (body += String(c)));
    req.on('end', () => bodies.set(key, [...(bodies.get(key) ?? []), body]));
    const steps = (plan ?? '200').split(',');
    const step = steps[Math.min(seen.length - 1, steps.length - 1)];
    if (step === 'hang') return;
    if (step === 'close') return void req.socket.destroy();
    if (step === 'late') return void setTimeout(() => res.end('late\n'), 600);
    res.statusCode = Number(step);
    req.on('end', () => res.end(`${step}\n`));
  };
  return { handler, arrivals, bodies };
}

describe('route retries over two endpoints', () => {
  let a: Upstream, b: Upstream, proxy: ProxyFixture;
  const scriptA = scripted();
  const scriptB = scripted();
  before(async () => {
    [a, b] = await Promise.all([startUpstream('a', scriptA.handler), startUpstream('b', scriptB.handler)]);
    proxy = await startProxy([listener('gw/http', [
      withRule(forward('retry', 'svc/ab', prefix('/retry')), { retry: { codes: [500], attempts: 2, backoffMs: 0 } }),
    ])], [backend('svc/ab', [a.port, b.port])]);
  });
  after(async () => {
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  });

  test('an endpoint that answered a listed code is retried itself, so its own count of failures holds', async () => {
    for (let i = 0; i < 4; i++) {
      const k = `two${i}`;
      assert.equal((await proxy.request(`/retry/${k}/500,500,200`)).status, 200, k);
      const tries = [scriptA.arrivals.get(k)?.length ?? 0, scriptB.arrivals.get(k)?.length ?? 0].sort();
      assert.deepEqual(tries, [0, 3], `${k}: every try on one endpoint`);
    }
  });

  test('a connection failure moves to the other endpoint', async () => {
    // Each endpoint closes its first try of the key: one, then the other, then the first again.
    const k = 'moves';
    assert.equal((await proxy.request(`/retry/${k}/close,200`, { method: 'POST' })).status, 200);
    const tries = [scriptA.arrivals.get(k)?.length ?? 0, scriptB.arrivals.get(k)?.length ?? 0].sort();
    assert.deepEqual(tries, [1, 2]);
  });
});

describe('route timeouts and retries', () => {
  let upstream: Upstream, proxy: ProxyFixture;
  const script = scripted();
  let n = 0;
  const key = () => `k${n++}`;

  before(async () => {
    upstream = await startUpstream('u', script.handler);
    const route = (name: string, timeouts?: IRTimeouts, retry?: IRRouteRetry) =>
      withRule(forward(name, 'svc/u', prefix(`/${name}`)), { ...(timeouts ? { timeouts } : {}), ...(retry ? { retry } : {}) });
    proxy = await startProxy([listener('gw/http', [
      route('request', { requestMs: 300 }),
      route('backend', { backendRequestMs: 300 }),
      route('retry', undefined, { codes: [500, 503], attempts: 2, backoffMs: 0 }),
      route('backoff', undefined, { codes: [503], attempts: 2, backoffMs: 250 }),
      route('bounded', { requestMs: 400 }, { codes: [503], attempts: 5, backoffMs: 1000 }),
      route('per-try', { requestMs: 5000, backendRequestMs: 250 }, { codes: [503], attempts: 1, backoffMs: 50 }),
      route('budget', { requestMs: 900, backendRequestMs: 200 }, { codes: [503], attempts: 20, backoffMs: 50 }),
      route('plain'),
    ])], [backend('svc/u', [upstream.port])]);
  });
  after(async () => {
    await upstream.close();
    await proxy.close();
  });

  test('timeouts.request: 504 when the backend answers too late', async () => {
    const started = performance.now();
    const res = await proxy.request(`/request/${key()}/hang`);
    assert.equal(res.status, 504);
    assert.ok(performance.now() - started < 5000);
    assert.equal((await proxy.request(`/request/${key()}/200`)).status, 200);
  });

  test('timeouts.backendRequest alone: 504 for an attempt that takes too long', async () => {
    assert.equal((await proxy.request(`/backend/${key()}/late`)).status, 504);
    assert.equal((await proxy.request(`/backend/${key()}/200`)).status, 200);
  });

  test('retry: answers with a listed code are retried up to `attempts` times', async () => {
    const k1 = key();
    const ok = await proxy.request(`/retry/${k1}/503,500,200`);
    assert.equal(ok.status, 200);
    assert.equal(script.arrivals.get(k1)!.length, 3);
    const k2 = key();
    const failed = await proxy.request(`/retry/${k2}/503,503,503,200`);
    assert.equal(failed.status, 503, 'after the last attempt the last answer goes to the client');
    assert.equal(failed.body, '503\n');
    assert.equal(script.arrivals.get(k2)!.length, 3);
  });

  test('retry: other codes are not retried', async () => {
    const k = key();
    assert.equal((await proxy.request(`/retry/${k}/502,200`)).status, 502);
    assert.equal(script.arrivals.get(k)!.length, 1);
    const plain = key();
    assert.equal((await proxy.request(`/plain/${plain}/503,200`)).status, 503, 'no retry without HTTPRouteRule.retry');
    assert.equal(script.arrivals.get(plain)!.length, 1);
  });

  test('retry: a connection closed under a non-idempotent request is retried when the rule says so', async () => {
    const k = key();
    assert.equal((await proxy.request(`/retry/${k}/close,200`, { method: 'POST' })).status, 200);
    assert.equal(script.arrivals.get(k)!.length, 2);
    const plain = key();
    assert.equal((await proxy.request(`/plain/${plain}/close,200`, { method: 'POST' })).status, 502);
  });

  test('retry: a small body is kept and sent again', async () => {
    const k = key();
    const body = 'p'.repeat(10_000);
    assert.equal((await proxy.request(`/retry/${k}/503,500,200`, { method: 'POST', body })).status, 200);
    assert.equal(script.arrivals.get(k)!.length, 3);
    assert.deepEqual(script.bodies.get(k), [body, body, body]);
  });

  test('retry: a body above the buffer size is streamed once and not retried', async () => {
    const k = key();
    const body = 'p'.repeat(RETRY_BODY_BUFFER_BYTES + 1);
    assert.equal((await proxy.request(`/retry/${k}/503,200`, { method: 'PUT', body })).status, 503);
    assert.equal(script.arrivals.get(k)!.length, 1);
    assert.equal(script.bodies.get(k)![0].length, body.length);
  });

  test('retry: a small body the client is slow to send is bounded by timeouts.request', async () => {
    const socket = connect(proxy.port, '127.0.0.1');
    socket.write(`POST /bounded/${key()}/200 HTTP/1.1\r\nhost: a\r\ncontent-length: 100\r\n\r\n0123456789`);
    let text = '';
    socket.on('data', (c) => (text += String(c)));
    await new Promise((resolve) => socket.on('close', resolve));
    assert.match(text, /^HTTP\/1\.1 504 /);
  });

  test('retry: attempts are at least `backoff` apart', async () => {
    const k = key();
    assert.equal((await proxy.request(`/backoff/${k}/503,503,200`)).status, 200);
    const times = script.arrivals.get(k)!;
    assert.equal(times.length, 3);
    assert.ok(times[1] - times[0] >= 240, `first gap ${times[1] - times[0]} ms`);
    assert.ok(times[2] - times[1] >= 240, `second gap ${times[2] - times[1]} ms`);
  });

  test('retry: timeouts.request bounds the retries and their backoff', async () => {
    const k = key();
    const started = performance.now();
    const res = await proxy.request(`/bounded/${k}/503`);
    assert.equal(res.status, 504);
    assert.ok(performance.now() - started < 3000, 'answered at the request timeout, not after the backoff');
    assert.equal(script.arrivals.get(k)!.length, 1, 'the backoff was longer than what was left');
  });

  test('retry: an attempt cut by timeouts.backendRequest is retried after the backoff', async () => {
    const k = key();
    assert.equal((await proxy.request(`/per-try/${k}/hang,200`)).status, 200);
    const times = script.arrivals.get(k)!;
    assert.equal(times.length, 2);
    assert.ok(times[1] - times[0] >= 250 + 40, 'per-try timeout, then the backoff');
  });

  test('retry: every attempt hangs, the request timeout ends it with 504', async () => {
    const k = key();
    const res = await proxy.request(`/budget/${k}/hang`);
    assert.equal(res.status, 504);
    const attempts = script.arrivals.get(k)!.length;
    assert.ok(attempts >= 2 && attempts <= 4, `${attempts} attempts within the request timeout`);
  });
});

test('retry: an attempt still opening its connection when timeouts.backendRequest fires is cut and retried elsewhere', async (t) => {
  // One endpoint's connects never complete (a full accept queue); the other answers.
  const silent = await unansweredPort(t);
  if (silent === undefined) return void t.skip('a connect to a listener with a full accept queue completes on this machine');
  const script = scripted();
  const up = await startUpstream('up', script.handler);
  const proxy = await startProxy([listener('gw/http', [
    withRule(forward('r', 'svc/two', prefix('/'), { backendRequestMs: 300 }), { retry: { codes: [], attempts: 1, backoffMs: 0 } }),
  ])], [backend('svc/two', [silent, up.port])]);
  t.after(async () => {
    await proxy.close();
    await up.close();
  });
  // Round robin: of two requests, one goes to the silent endpoint first.
  const started = performance.now();
  const answers = await Promise.all([proxy.request('/x/a/200'), proxy.request('/x/b/200')]);
  assert.deepEqual(answers.map((a) => a.status), [200, 200]);
  assert.equal((script.arrivals.get('a')?.length ?? 0) + (script.arrivals.get('b')?.length ?? 0), 2);
  assert.ok(performance.now() - started >= 250, 'one attempt waited for its connection until the backendRequest timeout');
});
