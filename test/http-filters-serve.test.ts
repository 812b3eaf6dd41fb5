// End to end: HTTPRoute filters, redirects, timeouts and retries written as manifests, through
// `waygate serve` (translator, controller, a worker), real backends and real clients.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { baseManifests, removeDir, startWaygate, tempDir, writeManifest, type RunningWaygate } from './helpers/waygate.ts';

function routeYaml(): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: filters, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [shop.example.com]
  rules:
    - matches: [{path: {type: PathPrefix, value: /headers}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Set, value: set}]
            add: [{name: X-Add, value: added}]
            remove: [X-Remove]
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            add: [{name: X-Route, value: filters}]
      backendRefs: [{name: app, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /old}}]
      filters:
        - type: RequestRedirect
          requestRedirect:
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
            statusCode: 301
    - matches: [{path: {type: PathPrefix, value: /secure}}]
      filters:
        - type: RequestRedirect
          requestRedirect: {scheme: https}
    - matches: [{path: {type: PathPrefix, value: /v1}}]
      filters:
        - type: URLRewrite
          urlRewrite:
            hostname: internal.example
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}
      backendRefs: [{name: app, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /mirrored}}]
      filters:
        - type: RequestMirror
          requestMirror:
            backendRef: {name: mirror, port: 80}
      backendRefs: [{name: app, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /cors}}]
      filters:
        - type: CORS
          cors:
            allowOrigins: ["https://*.example.org"]
            allowMethods: [GET, PUT]
            allowCredentials: true
            maxAge: 60
      backendRefs: [{name: app, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /slow}}]
      timeouts: {request: 300ms}
      backendRefs: [{name: app, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /flaky}}]
      retry: {codes: [503], attempts: 2, backoff: 10ms}
      backendRefs: [{name: app, port: 80}]
`;
}

describe('HTTPRoute filters through waygate serve', () => {
  let dir: string, port: number, app: Upstream, mirror: Upstream, wg: RunningWaygate;
  let flaky = 0;

  before(async () => {
    dir = await tempDir();
    app = await startUpstream('app', (req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url?.startsWith('/slow')) return void setTimeout(() => res.end('late\n'), 2000);
        if (req.url?.startsWith('/flaky') && flaky++ % 2 === 0) {
          res.statusCode = 503;
          return void res.end('busy\n');
        }
        res.end('app\n');
      });
    });
    mirror = await startUpstream('mirror');
    port = await freePort();
    await writeManifest(dir, 'base.yaml', baseManifests(port, [{ name: 'app', ports: [app.port] }, { name: 'mirror', ports: [mirror.port] }]));
    await writeManifest(dir, 'route.yaml', routeYaml());
    wg = await startWaygate(dir, { workers: 1 });
    await wg.waitReady();
  });
  after(async () => {
    await wg.stop();
    await Promise.all([app.close(), mirror.close(), removeDir(dir)]);
  });

  const get = async (path: string, headers: Record<string, string> = {}, method = 'GET') => {
    const res = await request(`http://127.0.0.1:${port}${path}`, { method, headers: { host: 'shop.example.com', ...headers } });
    return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
  };

  test('request and response header modifiers', async () => {
    const res = await get('/headers/x', { 'x-set': 'client', 'x-add': 'client', 'x-remove': 'gone' });
    assert.equal(res.headers['x-route'], 'filters');
    const seen = app.seen.at(-1)!;
    assert.deepEqual([seen.headers['x-set'], seen.headers['x-add'], seen.headers['x-remove']], ['set', 'client,added', undefined]);
  });

  test("redirects: the listener's own port, and a scheme's well-known one", async () => {
    const moved = await get('/old/page?q=1');
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.location, `http://shop.example.com:${port}/new/page?q=1`);
    const secure = await get('/secure/x');
    assert.equal(secure.status, 302);
    assert.equal(secure.headers.location, 'https://shop.example.com/secure/x');
  });

  test('URL rewrite of host and path prefix', async () => {
    await get('/v1/items?id=3');
    const seen = app.seen.at(-1)!;
    assert.equal(seen.url, '/v2/items?id=3');
    assert.equal(seen.headers.host, 'internal.example');
  });

  test('a mirror gets a copy', async () => {
    assert.equal((await get('/mirrored/x')).body, 'app\n');
    const end = Date.now() + 5000;
    while (!mirror.seen.some((s) => s.url === '/mirrored/x') && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.ok(mirror.seen.some((s) => s.url === '/mirrored/x'));
  });

  test('a CORS preflight is answered by the gateway', async () => {
    const before = app.seen.length;
    const res = await get('/cors/x', { origin: 'https://a.example.org', 'access-control-request-method': 'PUT' }, 'OPTIONS');
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], 'https://a.example.org');
    assert.equal(res.headers['access-control-allow-methods'], 'GET, PUT');
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    assert.equal(res.headers['access-control-max-age'], '60');
    assert.equal(app.seen.length, before);
  });

  test('timeouts.request answers 504; retry turns a 503 into the next answer', async () => {
    assert.equal((await get('/slow')).status, 504);
    for (let i = 0; i < 3; i++) assert.equal((await get('/flaky')).body, 'app\n');
  });
});
