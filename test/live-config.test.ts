import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile } from '../src/compiler/index.ts';
import { DEFAULT_LIMITS } from '../src/dataplane/index.ts';
import { buildLiveConfig } from '../src/dataplane/live-config.ts';
import { UpstreamPools } from '../src/dataplane/upstream-pools.ts';
import type { IRBackend } from '../src/ir/index.ts';
import { backend, bind, forward, ir, listener, withRule } from './helpers/ir.ts';

test('route state carries over only while its compiled route and its backends stay the same', async () => {
  const pools = new UpstreamPools(DEFAULT_LIMITS);
  const vhosts = [{ hostname: '*', routes: [forward('route/a', 'svc/a'), forward('route/b', 'svc/b')] }];
  const config = (a: IRBackend) => ir([bind(8080, [listener('gw/http', vhosts)])], [a, backend('svc/b', [8082])]);
  const first = buildLiveConfig('1', compile(config(backend('svc/a', [8081]))), pools, undefined);
  // New endpoints for svc/a: its state is updated in place, so both routes carry over.
  const second = buildLiveConfig('2', compile(config(backend('svc/a', [8083]))), pools, first);
  assert.equal(second.routes[0], first.routes[0]);
  assert.equal(second.routes[1], first.routes[1]);
  // Another balancing policy for svc/a: a new state, so route/a gets new choices that use it.
  const third = buildLiveConfig('3', compile(config({ ...backend('svc/a', [8083]), policy: { loadBalancer: 'Random' } })), pools, second);
  assert.notEqual(third.routes[0], second.routes[0]);
  assert.equal(third.routes[0].choices[0].backend, third.backends.get('svc/a'));
  assert.equal(third.routes[1], second.routes[1], 'route/b does not use svc/a');
  for (const state of third.backends.values()) state.close();
  await Promise.all(pools.release(new Set()));
});

test('timeouts.request bounds the whole request and timeouts.backendRequest each attempt; plain routes have no extras', async () => {
  const pools = new UpstreamPools(DEFAULT_LIMITS);
  const routes = [
    forward('route/plain', 'svc/a', {}, { requestMs: 1000 }),
    forward('route/both', 'svc/a', {}, { requestMs: 1000, backendRequestMs: 200 }),
    forward('route/backend', 'svc/a', {}, { backendRequestMs: 300 }),
  ];
  const config = buildLiveConfig('1', compile(ir([bind(8080, [listener('gw/http', routes)])], [backend('svc/a', [8081])])), pools, undefined);
  assert.deepEqual(config.routes.map((r) => [r.timeoutMs, r.extras?.backendTimeoutMs]), [[1000, undefined], [1000, 200], [0, 300]]);
  for (const state of config.backends.values()) state.close();
  await Promise.all(pools.release(new Set()));
});

test("a mirror's share carries over while its route stays; a new mirror backend state rebuilds the route", async () => {
  const pools = new UpstreamPools(DEFAULT_LIMITS);
  const mirrored = withRule(forward('route/m', 'svc/a'), { filters: { mirrors: [{ backend: 'svc/m', numerator: 1, denominator: 3 }] } });
  const vhosts = [{ hostname: '*', routes: [mirrored] }];
  const config = (m: IRBackend) => ir([bind(8080, [listener('gw/http', vhosts)])], [backend('svc/a', [8081]), m]);
  const first = buildLiveConfig('1', compile(config(backend('svc/m', [8082]))), pools, undefined);
  const mirror = first.routes[0].extras!.mirrors[0];
  assert.equal(mirror.backend, first.backends.get('svc/m'));
  mirror.score = 2;
  const second = buildLiveConfig('2', compile(config(backend('svc/m', [8083]))), pools, first);
  assert.equal(second.routes[0], first.routes[0], 'new endpoints only: the state carries over');
  const third = buildLiveConfig('3', compile(config({ ...backend('svc/m', [8083]), policy: { loadBalancer: 'Random' } })), pools, second);
  assert.notEqual(third.routes[0], second.routes[0]);
  assert.equal(third.routes[0].extras!.mirrors[0].backend, third.backends.get('svc/m'));
  assert.equal(third.routes[0].extras!.mirrors[0].score, 2, 'the running share is kept');
  for (const state of third.backends.values()) state.close();
  await Promise.all(pools.release(new Set()));
});
