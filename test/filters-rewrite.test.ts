// HTTPURLRewriteFilter: the path and Host a real backend receives (full and prefix rewrites,
// the trailing-slash table of HTTPPathModifier), the query string kept.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { IRUrlRewrite } from '../src/ir/index.ts';
import { backend, forward, listener, prefix, withRule } from './helpers/ir.ts';
import { startProxy, type ProxyFixture } from './helpers/proxy-fixture.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

describe('URL rewrites', () => {
  let upstream: Upstream, proxy: ProxyFixture;
  const cases: [string, IRUrlRewrite, string, string][] = [
    // [route prefix, rewrite, request path, path the backend sees]
    ['/full', { path: { type: 'ReplaceFullPath', value: '/one' } }, '/full/a/b?x=1', '/one?x=1'],
    ['/foo', { path: { type: 'ReplacePrefixMatch', value: '/xyz' } }, '/foo/bar', '/xyz/bar'],
    ['/foo2', { path: { type: 'ReplacePrefixMatch', value: '/xyz/' } }, '/foo2/bar', '/xyz/bar'],
    ['/foo3/', { path: { type: 'ReplacePrefixMatch', value: '/xyz' } }, '/foo3/bar', '/xyz/bar'],
    ['/foo4/', { path: { type: 'ReplacePrefixMatch', value: '/xyz/' } }, '/foo4/bar', '/xyz/bar'],
    ['/foo5', { path: { type: 'ReplacePrefixMatch', value: '/xyz' } }, '/foo5', '/xyz'],
    ['/foo6', { path: { type: 'ReplacePrefixMatch', value: '/xyz' } }, '/foo6/', '/xyz/'],
    ['/foo7', { path: { type: 'ReplacePrefixMatch', value: '' } }, '/foo7/bar', '/bar'],
    ['/foo8', { path: { type: 'ReplacePrefixMatch', value: '' } }, '/foo8/', '/'],
    ['/foo9', { path: { type: 'ReplacePrefixMatch', value: '' } }, '/foo9', '/'],
    ['/fooa', { path: { type: 'ReplacePrefixMatch', value: '/' } }, '/fooa/', '/'],
    ['/foob', { path: { type: 'ReplacePrefixMatch', value: '/' } }, '/foob', '/'],
    ['/query', { path: { type: 'ReplacePrefixMatch', value: '/v2' } }, '/query/items?a=1&b=%20', '/v2/items?a=1&b=%20'],
  ];

  before(async () => {
    upstream = await startUpstream('u');
    const routes = cases.map(([p, urlRewrite], i) => withRule(forward(`r${i}`, 'svc/u', prefix(p)), { filters: { urlRewrite } }));
    routes.push(withRule(forward('host', 'svc/u', prefix('/host')), { filters: { urlRewrite: { hostname: 'internal.example' } } }));
    routes.push(withRule(forward('both', [{
      weight: 1, backend: 'svc/u', filters: { urlRewrite: { hostname: 'backend.example', path: { type: 'ReplacePrefixMatch', value: '/b' } } },
    }], prefix('/both')), {}));
    routes.push(withRule(forward('any', 'svc/u', prefix('/')), { filters: { urlRewrite: { path: { type: 'ReplacePrefixMatch', value: '/root' } } } }));
    proxy = await startProxy([listener('gw/http', routes)], [backend('svc/u', [upstream.port])]);
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  test('full and prefix path rewrites, with the trailing-slash rules', async () => {
    for (const [, , path, want] of cases) {
      const res = await proxy.request(path);
      assert.equal(res.status, 200, path);
      assert.equal(upstream.seen.at(-1)!.url, want, path);
    }
  });

  test('the hostname rewrite is the Host the backend sees; the client host stays in X-Forwarded-Host', async () => {
    await proxy.request('/host/x?y', { headers: { host: 'Shop.Example.com' } });
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.url, '/host/x?y');
    assert.equal(seen.headers.host, 'internal.example');
    assert.equal(seen.headers['x-forwarded-host'], 'Shop.Example.com');
  });

  test('a backendRef rewrite of host and path', async () => {
    await proxy.request('/both/x');
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.url, '/b/x');
    assert.equal(seen.headers.host, 'backend.example');
  });

  test('a PathPrefix "/" match: the replacement goes in front', async () => {
    await proxy.request('/some/thing');
    assert.equal(upstream.seen.at(-1)!.url, '/root/some/thing');
  });
});
