// Slow start: a new or returning endpoint's share ramps linearly over the window (injected clock).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createBalancer } from '../src/dataplane/lb/index.ts';
import { endpoints, shares } from './lb-helpers.ts';

const WINDOW = 10_000;

/** Share of `c` among `count` picks after `a b` serve alone and `c` joins at t=0, observed at `at`. */
function shareOfNew(policy: string, at: number, text = 'a b c'): number {
  let now = 1_000;
  const b = createBalancer(policy, { now: () => now, slowStartWindowMs: WINDOW });
  b.update(endpoints(text.split(' ').slice(0, 2).join(' ')));
  b.update(endpoints(text));
  now += at;
  return shares(b, 3000).get('c') ?? 0;
}

for (const policy of ['RoundRobin', 'WeightedRoundRobin', 'LeastRequest']) {
  // Full share of c among a, b, c with equal weights: 1/3.
  const table: [string, number, number, number][] = [
    ['at t=0: almost nothing, but not nothing', 0, 0.001, 0.02],
    ['at half the window: about half its weight (0.5 / 2.5)', WINDOW / 2, 0.19, 0.21],
    ['after the window: its full share (LeastRequest: two random choices)', WINDOW, 0.3, 0.37],
  ];
  for (const [name, at, min, max] of table) {
    test(`slow start ${policy}: ${name}`, () => {
      const share = shareOfNew(policy, at);
      assert.ok(share >= min && share <= max, `share ${share} not in [${min}, ${max}]`);
    });
  }
}

test('slow start WeightedRoundRobin: weights are scaled, so half the window of c:4 is weight 2 of 4', () => {
  const share = shareOfNew('WeightedRoundRobin', WINDOW / 2, 'a b c:4');
  assert.ok(Math.abs(share - 0.5) < 0.01, `share ${share}`);
});

test('slow start: endpoints of the first update and without a window get their share at once', () => {
  let now = 0;
  const first = createBalancer('RoundRobin', { now: () => now, slowStartWindowMs: WINDOW });
  first.update(endpoints('a b c'));
  assert.ok(Math.abs((shares(first, 3000).get('c') ?? 0) - 1 / 3) < 0.01);
  const off = createBalancer('RoundRobin', { now: () => now });
  off.update(endpoints('a b'));
  off.update(endpoints('a b c'));
  assert.ok(Math.abs((shares(off, 3000).get('c') ?? 0) - 1 / 3) < 0.01);
});

test('slow start: an endpoint back from ejection ramps again; one that stayed does not', () => {
  let now = 0;
  const b = createBalancer('RoundRobin', { now: () => now, slowStartWindowMs: WINDOW });
  b.update(endpoints('a b c'));
  b.update(endpoints('a b c(ejected)'));
  now += 60_000;
  b.update(endpoints('a b c'));
  assert.ok((shares(b, 3000).get('c') ?? 0) < 0.02);
  now += WINDOW / 2;
  const half = shares(b, 3000).get('c') ?? 0;
  assert.ok(half > 0.19 && half < 0.21, `share ${half}`);
  now += WINDOW;
  assert.ok(Math.abs((shares(b, 3000).get('c') ?? 0) - 1 / 3) < 0.01);
});

test('slow start is not enforced by hashing policies', () => {
  let now = 0;
  const b = createBalancer('Maglev', { now: () => now, slowStartWindowMs: WINDOW });
  b.update(endpoints('a b'));
  b.update(endpoints('a b c'));
  let c = 0;
  for (let i = 0; i < 3000; i++) if (b.pick({ hash: (i * 2654435761) >>> 0 })?.key === '10.0.0.3:8080') c++;
  assert.ok(c / 3000 > 0.25, `share ${c / 3000}`);
});
