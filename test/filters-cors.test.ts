// HTTPCORSFilter: preflights answered by Waygate (never forwarded), actual requests marked,
// wildcard origins, and `*` with and without credentials.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backend, cors, forward, headerModifier, listener, prefix, withRule } from './helpers/ir.ts';
import { startProxy, type ProxyFixture } from './helpers/proxy-fixture.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

const PREFLIGHT = { 'access-control-request-method': 'GET' };

describe('CORS', () => {
  let upstream: Upstream, proxy: ProxyFixture;
  before(async () => {
    upstream = await startUpstream('u', (req, res) => {
      req.resume();
      req.on('end', () => {
        // A backend that sets its own CORS header: the filter's answer replaces it.
        res.setHeader('access-control-allow-origin', 'https://backend.example');
        res.end('u\n');
      });
    });
    const strict = cors({
      allowOrigins: ['https://www.foo.com', 'https://*.bar.com', 'http://local.test:8080'],
      allowCredentials: true,
      allowMethods: ['GET', 'OPTIONS', 'PUT'],
      allowHeaders: ['x-header-1', 'x-header-2'],
      exposeHeaders: ['x-header-3', 'x-header-4'],
      maxAgeSeconds: 3600,
    });
    const open = cors({ allowOrigins: ['*'], allowMethods: ['*'], allowHeaders: ['*'], exposeHeaders: ['*'] });
    const openCredentials = cors({ allowOrigins: ['*'], allowCredentials: true, allowMethods: ['*'], allowHeaders: ['*'], exposeHeaders: ['*'] });
    proxy = await startProxy([listener('gw/http', [
      withRule(forward('strict', 'svc/u', prefix('/strict')), {
        filters: { cors: strict, responseHeaders: headerModifier({ add: [['x-route', 'strict']] }) },
      }),
      withRule(forward('open', 'svc/u', prefix('/open')), { filters: { cors: open } }),
      withRule(forward('open-credentials', 'svc/u', prefix('/creds')), { filters: { cors: openCredentials } }),
    ])], [backend('svc/u', [upstream.port])]);
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  test('a preflight from an allowed origin is answered by the gateway with every header', async () => {
    const before = upstream.seen.length;
    const res = await proxy.request('/strict/x', {
      method: 'OPTIONS',
      headers: { origin: 'https://www.foo.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-header-1' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], 'https://www.foo.com');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-allow-methods'], 'GET, OPTIONS, PUT');
    assert.equal(res.headers['access-control-allow-headers'], 'x-header-1, x-header-2');
    assert.equal(res.headers['access-control-expose-headers'], 'x-header-3, x-header-4');
    assert.equal(res.headers['access-control-max-age'], '3600');
    assert.equal(res.headers.vary, 'Origin');
    assert.equal(res.headers['x-route'], 'strict', 'the response modifier applies to the preflight');
    assert.equal(upstream.seen.length, before, 'the preflight never reaches the backend');
  });

  test('wildcard origins span any number of labels; default ports are implied; others get no CORS headers', async () => {
    const allowed = ['https://a.bar.com', 'https://a.b.c.bar.com', 'https://www.foo.com:443', 'http://local.test:8080'];
    const denied = ['https://bar.com', 'http://a.bar.com', 'https://a.bar.com:8443', 'https://www.foo.com.evil', 'http://local.test', 'null'];
    for (const origin of allowed) {
      const res = await proxy.request('/strict', { method: 'OPTIONS', headers: { origin, ...PREFLIGHT } });
      assert.equal(res.headers['access-control-allow-origin'], origin, origin);
    }
    const before = upstream.seen.length;
    for (const origin of denied) {
      const res = await proxy.request('/strict', { method: 'OPTIONS', headers: { origin, ...PREFLIGHT } });
      assert.equal(res.status, 200, origin);
      assert.equal(res.headers['access-control-allow-origin'], undefined, origin);
      assert.equal(res.headers['access-control-allow-methods'], undefined, origin);
    }
    assert.equal(upstream.seen.length, before);
  });

  test('an actual request from an allowed origin is forwarded and marked; the backend header is replaced', async () => {
    const res = await proxy.request('/strict/data', { headers: { origin: 'https://x.bar.com' } });
    assert.equal(res.body, 'u\n');
    assert.equal(res.headers['access-control-allow-origin'], 'https://x.bar.com');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-expose-headers'], 'x-header-3, x-header-4');
    assert.equal(res.headers['access-control-max-age'], undefined);
    assert.equal(res.headers.vary, 'Origin');
    assert.equal(upstream.seen.at(-1)!.url, '/strict/data');
  });

  test('an actual request from another origin, or an OPTIONS that is no preflight, goes to the backend untouched', async () => {
    const other = await proxy.request('/strict/data', { headers: { origin: 'https://evil.example' } });
    assert.equal(other.headers['access-control-allow-origin'], 'https://backend.example');
    assert.equal(other.headers['access-control-allow-credentials'], undefined);
    const before = upstream.seen.length;
    const options = await proxy.request('/strict/data', { method: 'OPTIONS', headers: { origin: 'https://www.foo.com' } });
    assert.equal(options.body, 'u\n');
    assert.equal(upstream.seen.length, before + 1);
  });

  test('an answer to a request without Origin says Vary: Origin and nothing else of CORS', async () => {
    const res = await proxy.request('/strict/data');
    assert.equal(res.headers.vary, 'Origin');
    assert.equal(res.headers['access-control-allow-origin'], 'https://backend.example');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
  });

  test('"*" without credentials answers "*" for methods, headers and exposed headers, and echoes the origin', async () => {
    const res = await proxy.request('/open', {
      method: 'OPTIONS', headers: { origin: 'https://any.example:12345', 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'x-a, x-b' },
    });
    assert.equal(res.headers['access-control-allow-origin'], 'https://any.example:12345');
    assert.equal(res.headers['access-control-allow-methods'], '*');
    assert.equal(res.headers['access-control-allow-headers'], '*');
    assert.equal(res.headers['access-control-expose-headers'], '*');
    assert.equal(res.headers['access-control-allow-credentials'], undefined);
    assert.equal(res.headers['access-control-max-age'], '5');
    const actual = await proxy.request('/open/x', { method: 'PUT', headers: { origin: 'https://any.example', authorization: 'Bearer t' } });
    assert.equal(actual.headers['access-control-allow-origin'], 'https://any.example');
    assert.equal(actual.headers['access-control-allow-credentials'], undefined);
    assert.equal(actual.headers['access-control-expose-headers'], '*');
  });

  test('"*" with credentials echoes the origin, method and headers, never "*"', async () => {
    const res = await proxy.request('/creds', {
      method: 'OPTIONS', headers: { origin: 'https://any.example', 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'x-a, x-b' },
    });
    assert.equal(res.headers['access-control-allow-origin'], 'https://any.example');
    assert.equal(res.headers['access-control-allow-methods'], 'PATCH');
    assert.equal(res.headers['access-control-allow-headers'], 'x-a, x-b');
    assert.equal(res.headers['access-control-expose-headers'], undefined);
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    const noHeaders = await proxy.request('/creds', { method: 'OPTIONS', headers: { origin: 'https://any.example', ...PREFLIGHT } });
    assert.equal(noHeaders.headers['access-control-allow-headers'], undefined, 'no Access-Control-Request-Headers: no Allow-Headers');
  });
});
