// HTTPRequestMirrorFilter: copies reach the mirror backend; the main response is the same
// whether the mirror answers, hangs, reads nothing or is down; the share is kept.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { backend, forward, headerModifier, listener, prefix, withRule } from './helpers/ir.ts';
import { freePort } from './helpers/ports.ts';
import { startProxy, type ProxyFixture } from './helpers/proxy-fixture.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('mirrors', () => {
  let main: Upstream, mirror: Upstream, hanging: Upstream, proxy: ProxyFixture;
  const mirrorBodies: string[] = [];
  const mainBodies: string[] = [];
  before(async () => {
    const hashing = (into: string[]) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      const hash = createHash('sha256');
      req.on('data', (c: Buffer) => hash.update(c));
      req.on('end', () => {
        into.push(hash.digest('hex'));
        res.end('ok\n');
      });
    };
    main = await startUpstream('main', hashing(mainBodies));
    mirror = await startUpstream('mirror', hashing(mirrorBodies));
    // Reads nothing and never answers.
    hanging = await startUpstream('hanging', (req) => req.pause());
    const down = await freePort();
    const rule = (name: string, path: string, mirrors: { backend: string; numerator: number; denominator: number }[]) =>
      withRule(forward(name, 'svc/main', prefix(path)), {
        filters: { mirrors, requestHeaders: headerModifier({ set: [['x-filtered', 'yes']] }) },
      });
    proxy = await startProxy([listener('gw/http', [
      rule('all', '/all', [{ backend: 'svc/mirror', numerator: 100, denominator: 100 }]),
      rule('quarter', '/quarter', [{ backend: 'svc/mirror', numerator: 1, denominator: 4 }]),
      rule('slow', '/slow', [{ backend: 'svc/hanging', numerator: 1, denominator: 1 }]),
      rule('down', '/down', [{ backend: 'svc/down', numerator: 1, denominator: 1 }, { backend: 'svc/mirror', numerator: 1, denominator: 1 }]),
      withRule(forward('kept', 'svc/main', prefix('/kept')), {
        filters: { mirrors: [{ backend: 'svc/mirror', numerator: 1, denominator: 1 }] }, retry: { codes: [503], attempts: 1, backoffMs: 0 },
      }),
      withRule(forward('backend-ref', [{ weight: 1, backend: 'svc/main', filters: { mirrors: [{ backend: 'svc/mirror', numerator: 1, denominator: 1 }] } }], prefix('/ref')), {}),
    ])], [backend('svc/main', [main.port]), backend('svc/mirror', [mirror.port]), backend('svc/hanging', [hanging.port]), backend('svc/down', [down])]);
  });
  after(async () => {
    // The hanging mirror first: a graceful close of the proxy waits for requests in flight.
    await hanging.close();
    await proxy.close();
    await Promise.all([main.close(), mirror.close()]);
  });

  test('a copy of each request, after the request filters, reaches the mirror; its answer is dropped', async () => {
    const start = mirror.seen.length;
    const res = await proxy.request('/all/items?x=1', { headers: { 'x-client': 'c' } });
    assert.equal(res.body, 'ok\n');
    await eventually(() => mirror.seen.length === start + 1, 'the mirror copy');
    const copy = mirror.seen.at(-1)!;
    assert.equal(copy.method, 'GET');
    assert.equal(copy.url, '/all/items?x=1');
    assert.equal(copy.headers['x-client'], 'c');
    assert.equal(copy.headers['x-filtered'], 'yes');
  });

  test('a request body reaches both the backend and the mirror intact', async () => {
    const body = 'b'.repeat(300_000);
    const want = createHash('sha256').update(body).digest('hex');
    const res = await proxy.request('/all/upload', { method: 'POST', body });
    assert.equal(res.body, 'ok\n');
    assert.equal(mainBodies.at(-1), want);
    await eventually(() => mirrorBodies.at(-1) === want, 'the mirrored body');
  });

  test('a body read whole for retries reaches the mirror too', async () => {
    const body = 'k'.repeat(20_000);
    const want = createHash('sha256').update(body).digest('hex');
    assert.equal((await proxy.request('/kept/upload', { method: 'POST', body })).body, 'ok\n');
    assert.equal(mainBodies.at(-1), want);
    await eventually(() => mirrorBodies.at(-1) === want, 'the mirrored body');
  });

  test('a backendRef mirror', async () => {
    const start = mirror.seen.length;
    await proxy.request('/ref/x');
    await eventually(() => mirror.seen.length === start + 1 && mirror.seen.at(-1)!.url === '/ref/x', 'the backendRef mirror copy');
  });

  test('1/4 of requests are mirrored', async () => {
    const start = mirror.seen.filter((s) => s.url.startsWith('/quarter')).length;
    for (let i = 0; i < 40; i++) assert.equal((await proxy.request(`/quarter/${i}`)).status, 200);
    await eventually(() => mirror.seen.filter((s) => s.url.startsWith('/quarter')).length - start >= 10, 'ten copies');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(mirror.seen.filter((s) => s.url.startsWith('/quarter')).length - start, 10);
  });

  test('a mirror that never answers nor reads does not hold up the main response, bodies included', async () => {
    const body = 'z'.repeat(5 * 1024 * 1024);
    const want = createHash('sha256').update(body).digest('hex');
    const started = performance.now();
    for (let i = 0; i < 10; i++) assert.equal((await proxy.request('/slow/x')).body, 'ok\n');
    const res = await proxy.request('/slow/upload', { method: 'POST', body });
    assert.equal(res.status, 200);
    assert.equal(mainBodies.at(-1), want, 'the main backend got the whole body although the mirror read none');
    assert.ok(performance.now() - started < 10_000, 'generous bound: a mirror wait would take 15 s per request');
  });

  test('a mirror that is down changes nothing for the client, and the other mirror still gets its copy', async () => {
    const start = mirror.seen.length;
    for (let i = 0; i < 5; i++) assert.equal((await proxy.request('/down/x')).body, 'ok\n');
    await eventually(() => mirror.seen.length === start + 5, 'copies to the mirror that is up');
  });
});
