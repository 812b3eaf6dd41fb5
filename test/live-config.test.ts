import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile } from '../src/compiler/index.ts';
import { DEFAULT_LIMITS } from '../src/dataplane/index.ts';
import { buildLiveConfig } from '../src/dataplane/live-config.ts';
import { UpstreamPools } from '../src/dataplane/upstream-pools.ts';
import type { IRBackend } from '../src/ir/index.ts';
import { backend, bind, forward, ir, listener } from './helpers/ir.ts';

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
