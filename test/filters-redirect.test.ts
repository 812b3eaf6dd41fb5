// HTTPRequestRedirectFilter: Location values for every field and port rule, every status code,
// answered by Waygate to a real client; redirected requests never reach the backend.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { compile } from '../src/compiler/index.ts';
import { redirectLocation } from '../src/dataplane/filters/redirect.ts';
import type { IRRedirectAction } from '../src/ir/index.ts';
import { backend, bind, forward, ir, listenerOnPort, prefix, redirect } from './helpers/ir.ts';
import { startProxy, type ProxyFixture } from './helpers/proxy-fixture.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

describe('redirects through a listener on Gateway port 8080', () => {
  let upstream: Upstream, proxy: ProxyFixture;
  const cases: [string, Omit<IRRedirectAction, 'type'>, string, string][] = [
    // [prefix, filter, request path, expected Location]
    ['/keep', { statusCode: 302 }, '/keep/a?x=1&y=2', 'http://shop.example.com:8080/keep/a?x=1&y=2'],
    ['/host', { statusCode: 302, hostname: 'other.example' }, '/host/a', 'http://other.example:8080/host/a'],
    ['/https', { statusCode: 301, scheme: 'https' }, '/https/a?q', 'https://shop.example.com/https/a?q'],
    ['/http', { statusCode: 301, scheme: 'http' }, '/http/a', 'http://shop.example.com/http/a'],
    ['/port', { statusCode: 302, port: 9443 }, '/port/a', 'http://shop.example.com:9443/port/a'],
    ['/port80', { statusCode: 302, port: 80 }, '/port80', 'http://shop.example.com/port80'],
    ['/https-port', { statusCode: 302, scheme: 'https', port: 8443 }, '/https-port', 'https://shop.example.com:8443/https-port'],
    ['/https-443', { statusCode: 302, scheme: 'https', port: 443 }, '/https-443', 'https://shop.example.com/https-443'],
    ['/http-443', { statusCode: 302, scheme: 'http', port: 443 }, '/http-443', 'http://shop.example.com:443/http-443'],
    ['/full', { statusCode: 302, path: { type: 'ReplaceFullPath', value: '/replaced' } }, '/full/a/b?q=1', 'http://shop.example.com:8080/replaced?q=1'],
    ['/pre', { statusCode: 302, path: { type: 'ReplacePrefixMatch', value: '/xyz' } }, '/pre/bar', 'http://shop.example.com:8080/xyz/bar'],
    ['/pre2/', { statusCode: 302, path: { type: 'ReplacePrefixMatch', value: '/xyz/' } }, '/pre2/bar', 'http://shop.example.com:8080/xyz/bar'],
    ['/pre3', { statusCode: 302, path: { type: 'ReplacePrefixMatch', value: '/xyz' } }, '/pre3/', 'http://shop.example.com:8080/xyz/'],
    ['/pre4', { statusCode: 302, path: { type: 'ReplacePrefixMatch', value: '/xyz' } }, '/pre4', 'http://shop.example.com:8080/xyz'],
    ['/pre5', { statusCode: 302, path: { type: 'ReplacePrefixMatch', value: '' } }, '/pre5/bar', 'http://shop.example.com:8080/bar'],
    ['/pre6', { statusCode: 302, path: { type: 'ReplacePrefixMatch', value: '/' } }, '/pre6', 'http://shop.example.com:8080/'],
    ['/all', {
      statusCode: 308, scheme: 'https', hostname: 'new.example', port: 8443, path: { type: 'ReplacePrefixMatch', value: '/v2' },
    }, '/all/items?page=3', 'https://new.example:8443/v2/items?page=3'],
  ];
  const statuses = [301, 302, 303, 307, 308] as const;

  before(async () => {
    upstream = await startUpstream('u');
    const routes = cases.map(([p, filter], i) => redirect(`r${i}`, filter, prefix(p)));
    for (const code of statuses) routes.push(redirect(`code${code}`, { statusCode: code, hostname: 'codes.example' }, prefix(`/code/${code}`)));
    routes.push(forward('rest', 'svc/u'));
    // The bind's port is a free one; the Gateway listener's port is 8080, which redirects use.
    proxy = await startProxy([listenerOnPort('gw/http', routes, 8080)], [backend('svc/u', [upstream.port])]);
  });
  after(async () => {
    await proxy.close();
    await upstream.close();
  });

  test('Location from the request and each field, with the spec port rules', async () => {
    for (const [, filter, path, location] of cases) {
      const res = await proxy.request(path, { headers: { host: 'Shop.Example.com:12345' } });
      assert.equal(res.status, filter.statusCode, path);
      assert.equal(res.headers.location, location, path);
    }
    assert.equal(upstream.seen.length, 0, 'redirects never reach the backend');
  });

  test('every status code', async () => {
    for (const code of statuses) {
      const res = await proxy.request(`/code/${code}/x`, { headers: { host: 'a.example' } });
      assert.equal(res.status, code);
      assert.equal(res.headers.location, `http://codes.example:8080/code/${code}/x`);
    }
  });

  test('an HTTP/1.0 request without Host is redirected to the bind address', async () => {
    const socket = connect(proxy.port, '127.0.0.1');
    socket.end('GET /keep/x HTTP/1.0\r\n\r\n');
    let text = '';
    for await (const chunk of socket) text += String(chunk);
    assert.match(text, /^HTTP\/1\.1 302 /);
    assert.match(text, /\r\nlocation: http:\/\/127\.0\.0\.1:8080\/keep\/x\r\n/i);
  });

  test('a POST with a body is redirected and the connection stays usable or closes cleanly', async () => {
    const res = await proxy.request('/keep/upload', { method: 'POST', body: 'x'.repeat(1000), headers: { host: 'shop.example.com' } });
    assert.equal(res.status, 302);
    assert.equal((await proxy.request('/other')).body, 'u\n');
  });
});

test('an HTTPS request keeps its scheme; a listener on 443 or 80 leaves the port out', () => {
  const config = compile(ir([bind(8443, [listenerOnPort('gw/https', [redirect('r', { statusCode: 302, hostname: 'h.example' })], 443)])], []));
  const r = config.routes[0].action;
  assert.equal(r.type, 'Redirect');
  if (r.type !== 'Redirect') return;
  assert.equal(redirectLocation(r, 'https', 'a.example', 443, '/p', ''), 'https://h.example/p');
  assert.equal(redirectLocation(r, 'https', 'a.example', 8443, '/p', 'q=1'), 'https://h.example:8443/p?q=1');
  assert.equal(redirectLocation(r, 'http', 'a.example', 80, '/p', ''), 'http://h.example/p');
  assert.equal(redirectLocation({ ...r, scheme: 'http' }, 'https', 'a.example', 443, '/p', ''), 'http://h.example/p');
});
