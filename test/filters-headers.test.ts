// HTTPHeaderFilter (RequestHeaderModifier, ResponseHeaderModifier) at rule and backendRef level,
// seen by a real upstream and a real client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { backend, forward, headerModifier, listener, prefix, redirect, withRule } from './helpers/ir.ts';
import { freePort } from './helpers/ports.ts';
import { startProxy, type ProxyFixture } from './helpers/proxy-fixture.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

describe('header modifiers', () => {
  let a: Upstream, b: Upstream, proxy: ProxyFixture;
  before(async () => {
    // The upstream answers with repeated and mixed-case headers for the response modifiers to work on.
    const answer = (name: string) => startUpstream(name, (req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('X-Upstream', name);
        res.setHeader('Server', 'upstream/1.0');
        res.setHeader('X-Multi', ['one', 'two']);
        res.setHeader('X-Keep', 'kept');
        res.end(`${name}\n`);
      });
    });
    [a, b] = await Promise.all([answer('a'), answer('b')]);
    const rule = {
      requestHeaders: headerModifier({ set: [['x-set', 'rule']], add: [['x-add', 'rule']], remove: ['x-remove', 'x_under'] }),
      responseHeaders: headerModifier({ set: [['x-multi', 'single']], add: [['x-added', 'rule'], ['x-keep', 'more']], remove: ['server'] }),
    };
    const own = {
      requestHeaders: headerModifier({ set: [['x-set', 'backend']], add: [['x-add', 'backend']] }),
      responseHeaders: headerModifier({ set: [['x-added', 'backend']], remove: ['x-upstream'] }),
    };
    proxy = await startProxy([listener('gw/http', [
      withRule(forward('rule', [{ weight: 1, backend: 'svc/a', filters: own }], prefix('/both')), { filters: rule }),
      withRule(forward('rule-only', 'svc/a', prefix('/rule')), { filters: rule }),
      withRule(forward('backend-only', [{ weight: 1, backend: 'svc/b', filters: own }], prefix('/backend')), {}),
      withRule(redirect('moved', { statusCode: 302, hostname: 'elsewhere.example' }, prefix('/moved')), { filters: rule }),
      forward('plain', 'svc/b'),
    ])], [backend('svc/a', [a.port]), backend('svc/b', [b.port])]);
  });
  after(async () => {
    await proxy.close();
    await Promise.all([a.close(), b.close()]);
  });

  test('request: set replaces every value whatever its case, add appends, remove drops every value', async () => {
    const res = await proxy.request('/rule/x', {
      headers: { 'X-SET': ['client-1', 'client-2'], 'x-Add': 'client', 'X-Remove': ['gone-1', 'gone-2'], 'x-other': 'untouched', X_Under: 'gone' },
    });
    assert.equal(res.status, 200);
    const seen = a.seen.at(-1)!;
    assert.equal(seen.headers['x-set'], 'rule');
    assert.equal(seen.headers['x-add'], 'client,rule');
    assert.equal(seen.headers['x-remove'], undefined);
    assert.equal(seen.headers.x_under, undefined, 'any token character, any case');
    assert.equal(seen.headers['x-other'], 'untouched');
    assert.equal(seen.rawHeaders.filter((h) => h.toLowerCase() === 'x-set').length, 1, 'one x-set line');
  });

  test('request: add creates a header the client did not send', async () => {
    await proxy.request('/rule/x');
    assert.equal(a.seen.at(-1)!.headers['x-add'], 'rule');
  });

  test('request: the backendRef modifier runs after the rule one', async () => {
    await proxy.request('/both/x', { headers: { 'x-add': 'client' } });
    const seen = a.seen.at(-1)!;
    assert.equal(seen.headers['x-set'], 'backend');
    assert.equal(seen.headers['x-add'], 'client,rule,backend');
  });

  test('request: a backendRef modifier alone', async () => {
    await proxy.request('/backend/x', { headers: { 'x-set': 'client' } });
    assert.equal(b.seen.at(-1)!.headers['x-set'], 'backend');
    assert.equal(b.seen.at(-1)!.headers['x-add'], 'backend');
  });

  test('response: set replaces repeated values, add appends, remove drops; the backendRef modifier last', async () => {
    const rule = await proxy.request('/rule/x');
    assert.equal(rule.headers['x-multi'], 'single');
    assert.equal(rule.headers['x-added'], 'rule');
    assert.equal(rule.headers['x-keep'], 'kept,more');
    assert.equal(rule.headers.server, undefined);
    assert.equal(rule.headers['x-upstream'], 'a');
    const both = await proxy.request('/both/x');
    assert.equal(both.headers['x-added'], 'backend');
    assert.equal(both.headers['x-upstream'], undefined);
    assert.equal(both.headers['x-multi'], 'single');
    assert.equal(both.body, 'a\n');
  });

  test("response: Waygate's own answers for the route get the rule's modifier", async () => {
    const res = await proxy.request('/moved/x');
    assert.equal(res.status, 302);
    assert.equal(res.headers['x-added'], 'rule');
    assert.equal(res.headers.location, 'http://elsewhere.example/moved/x');
  });

  test('a route without filters forwards headers untouched', async () => {
    const res = await proxy.request('/plain', { headers: { 'x-set': 'client', 'x-remove': 'kept' } });
    assert.equal(res.headers.server, 'upstream/1.0');
    assert.deepEqual(res.headers['x-multi'], ['one', 'two']);
    const seen = b.seen.at(-1)!;
    assert.equal(seen.headers['x-set'], 'client');
    assert.equal(seen.headers['x-remove'], 'kept');
  });
});

test("a ResponseHeaderModifier replaces the head of Waygate's own answers too", async () => {
  const proxy = await startProxy([listener('gw/http', [
    withRule(redirect('moved', { statusCode: 301, hostname: 'b.example' }), {
      filters: { responseHeaders: headerModifier({ set: [['content-type', 'text/html'], ['location', 'https://override.example/']] }) },
    }),
  ])], []);
  try {
    const res = await proxy.request('/x');
    assert.equal(res.status, 301);
    assert.equal(res.headers['content-type'], 'text/html', 'one content-type, the route\'s');
    assert.equal(res.headers.location, 'https://override.example/', 'the modifier has the last word');
  } finally {
    await proxy.close();
  }
});

test("Waygate's error answers for the route get its response modifier too", async () => {
  const down = await freePort();
  const filters = { responseHeaders: headerModifier({ add: [['x-route', 'r']] }) };
  const proxy = await startProxy([listener('gw/http', [
    withRule(forward('empty', 'svc/empty', prefix('/empty')), { filters }),
    withRule(forward('down', 'svc/down', prefix('/down')), { filters }),
  ])], [backend('svc/empty', []), backend('svc/down', [down])]);
  try {
    const empty = await proxy.request('/empty');
    assert.equal(empty.status, 503);
    assert.equal(empty.headers['x-route'], 'r');
    const refused = await proxy.request('/down');
    assert.equal(refused.status, 502);
    assert.equal(refused.headers['x-route'], 'r');
  } finally {
    await proxy.close();
  }
});
