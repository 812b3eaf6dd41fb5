// Table tests of the load-balancing policies: pick sequences, shares, load feedback, tiers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BALANCER_POLICIES, LeastRequestBalancer, PeakEwmaBalancer, WeightedRoundRobinBalancer,
  createBalancer, hash32, seededRandom,
} from '../src/dataplane/lb/index.ts';
import type { Balancer, BalancerOptions } from '../src/dataplane/lb/index.ts';
import { endpoints, keyOf, letterOf, pickedSet, sequence, shares } from './lb-helpers.ts';

function balancer(policy: string, list: string, options: BalancerOptions = {}): Balancer {
  const b = createBalancer(policy, { random: seededRandom(7), ...options });
  b.update(endpoints(list));
  return b;
}

const SEQUENCES = [
  { name: 'round robin takes each endpoint in turn', policy: 'RoundRobin', endpoints: 'a b c', want: 'a b c a b c a' },
  { name: 'round robin ignores weights', policy: 'RoundRobin', endpoints: 'a:5 b c', want: 'a b c a b c' },
  { name: 'smooth WRR spreads 5,1,1 as nginx does', policy: 'WeightedRoundRobin', endpoints: 'a:5 b c', want: 'a a b a c a a a a b a c a a' },
  { name: 'smooth WRR spreads 3,1', policy: 'WeightedRoundRobin', endpoints: 'a:3 b', want: 'a a b a a a b a' },
  { name: 'smooth WRR spreads 2,3', policy: 'WeightedRoundRobin', endpoints: 'a:2 b:3', want: 'b a b a b b a b a b' },
  { name: 'smooth WRR with equal weights is round robin', policy: 'WeightedRoundRobin', endpoints: 'a:2 b:2 c:2', want: 'a b c a b c' },
  { name: 'a terminating endpoint is skipped while another is ready', policy: 'RoundRobin', endpoints: 'a b(terminating) c', want: 'a c a c' },
  { name: 'terminating endpoints serve when none is ready', policy: 'RoundRobin', endpoints: 'a(down) b(terminating) c(terminating)', want: 'b c b c' },
  { name: 'an ejected endpoint is skipped', policy: 'WeightedRoundRobin', endpoints: 'a:5 b c(ejected)', want: 'a a a b a a a' },
  { name: 'no endpoint ready or serving: no pick', policy: 'RoundRobin', endpoints: 'a(down) b(down)', want: '- -' },
];

for (const c of SEQUENCES) {
  test(`sequence: ${c.name}`, () => {
    const b = balancer(c.policy, c.endpoints);
    assert.equal(sequence(b, c.want.split(' ').length), c.want);
  });
}

test('sequence: round robin goes on from the endpoint that was next after an update', () => {
  const b = balancer('RoundRobin', 'a b c d');
  assert.equal(sequence(b, 2), 'a b');
  b.update(endpoints('a c d e'));
  assert.equal(sequence(b, 5), 'c d e a c');
});

test('sequence: smooth WRR keeps the scores of endpoints that stay across an update', () => {
  const b = balancer('WeightedRoundRobin', 'a:5 b c');
  assert.equal(sequence(b, 3), 'a a b');
  // Scores now a=1 b=-4 c=3; d joins at 0 and the total becomes 8.
  b.update(endpoints('a:5 b c d'));
  assert.equal(sequence(b, 5), 'a c a a d');
});

const TOLERANCE = 0.02;
const DISTRIBUTIONS = [
  { name: 'random is uniform', policy: 'Random', endpoints: 'a b c d', want: { a: 0.25, b: 0.25, c: 0.25, d: 0.25 } },
  { name: 'random follows weights', policy: 'Random', endpoints: 'a:3 b c:4', want: { a: 0.375, b: 0.125, c: 0.5 } },
  { name: 'least request without load is uniform', policy: 'LeastRequest', endpoints: 'a b c d', want: { a: 0.25, b: 0.25, c: 0.25, d: 0.25 } },
  { name: 'least request without load follows weights', policy: 'LeastRequest', endpoints: 'a:3 b', want: { a: 0.75, b: 0.25 } },
  { name: 'peak EWMA without feedback is uniform', policy: 'PeakEWMA', endpoints: 'a b c', want: { a: 1 / 3, b: 1 / 3, c: 1 / 3 } },
  { name: 'smooth WRR gives weights exactly', policy: 'WeightedRoundRobin', endpoints: 'a:5 b:2 c', want: { a: 0.625, b: 0.25, c: 0.125 } },
  { name: 'ring hash spreads keys evenly', policy: 'RingHash', endpoints: 'a b c d', want: { a: 0.25, b: 0.25, c: 0.25, d: 0.25 }, tolerance: 0.04 },
  { name: 'ring hash follows weights', policy: 'RingHash', endpoints: 'a:3 b', want: { a: 0.75, b: 0.25 }, tolerance: 0.04 },
  { name: 'maglev spreads keys evenly', policy: 'Maglev', endpoints: 'a b c d', want: { a: 0.25, b: 0.25, c: 0.25, d: 0.25 } },
  { name: 'maglev follows weights', policy: 'Maglev', endpoints: 'a:3 b', want: { a: 0.75, b: 0.25 } },
];

for (const c of DISTRIBUTIONS) {
  test(`distribution: ${c.name}`, () => {
    const b = balancer(c.policy, c.endpoints);
    const got = shares(b, 40_000, (i) => hash32(`client-${i}`));
    for (const [letter, want] of Object.entries(c.want)) {
      const share = got.get(letter) ?? 0;
      const tolerance = c.tolerance ?? TOLERANCE;
      assert.ok(Math.abs(share - want) <= tolerance, `${letter}: ${share.toFixed(4)}, want ${want.toFixed(4)} ± ${tolerance}`);
    }
  });
}

// Rule 3 of the zero-downtime rules, for every policy: ready first, then serving+terminating,
// never neither; ejected endpoints only when every candidate is ejected (panic).
const TIERS = [
  { endpoints: 'a b(terminating) c', want: 'a c' },
  { endpoints: 'a(terminating) b(down)', want: 'a' },
  { endpoints: 'a(down) b(terminating) c(terminating)', want: 'b c' },
  { endpoints: 'a(ejected) b', want: 'b' },
  { endpoints: 'a(terminating) b(terminating, ejected)', want: 'a' },
  { endpoints: 'a(ejected) b(ejected) c(down)', want: 'a b' },
  { endpoints: 'a(down) b(down)', want: '-' },
  { endpoints: '', want: '-' },
];

for (const policy of BALANCER_POLICIES) {
  test(`tiers: ${policy.name} picks ready endpoints, then terminating ones, never neither`, () => {
    for (const c of TIERS) {
      const b = balancer(policy.name, c.endpoints);
      assert.equal(pickedSet(b, 400, (i) => hash32(`k${i}`)), c.want, `${policy.name} over "${c.endpoints}"`);
    }
  });
}

for (const policy of BALANCER_POLICIES) {
  test(`update: ${policy.name} stops picking a removed endpoint at once and keeps state of the others`, () => {
    const b = balancer(policy.name, 'a b c');
    const before = b.get(keyOf('b'))!;
    b.onStart(before);
    b.update(endpoints('b c'));
    assert.equal(b.get(keyOf('b')), before, 'same endpoint object');
    assert.equal(b.get(keyOf('b'))!.inflight, 1);
    assert.equal(b.get(keyOf('a')), undefined);
    // Load-aware policies avoid b while its request is in flight: only "nothing goes to a" holds for all.
    assert.match(pickedSet(b, 200, (i) => hash32(`k${i}`)), /^(b c|b|c)$/);
  });
}

// Round robin ignores weights; peak EWMA divides costs by weight, which shows only with feedback.
for (const policy of BALANCER_POLICIES.filter((p) => p.name !== 'RoundRobin' && p.name !== 'PeakEWMA')) {
  test(`update: ${policy.name} follows a change of weight alone`, () => {
    const b = balancer(policy.name, 'a b');
    b.update(endpoints('a:3 b'));
    const share = shares(b, 20_000, (i) => hash32(`client-${i}`)).get('a')!;
    assert.ok(Math.abs(share - 0.75) <= 0.04, `a: ${share}`);
  });
}

test('least request: power of two choices never picks the busiest of three', () => {
  const b = balancer('LeastRequest', 'a b c');
  const [a, bb] = [b.get(keyOf('a'))!, b.get(keyOf('b'))!];
  for (let i = 0; i < 10; i++) b.onStart(a);
  for (let i = 0; i < 5; i++) b.onStart(bb);
  const got = shares(b, 30_000);
  assert.equal(got.get('a'), undefined);
  // c wins every pair it is in (2 of 3), b wins the pair {a, b}.
  assert.ok(Math.abs(got.get('c')! - 2 / 3) < TOLERANCE, `c: ${got.get('c')}`);
  assert.ok(Math.abs(got.get('b')! - 1 / 3) < TOLERANCE, `b: ${got.get('b')}`);
});

test('least request: finished requests no longer count', () => {
  const b = balancer('LeastRequest', 'a b');
  const a = b.get(keyOf('a'))!;
  b.onStart(a);
  assert.equal(sequence(b, 3), 'b b b');
  b.onEnd(a, { latencyMs: 5, ok: true });
  assert.equal(a.inflight, 0);
  assert.equal(pickedSet(b, 100), 'a b');
});

test('least request: with weights, requests in flight lower an endpoint\'s weight (Envoy: weight / (inflight + 1))', () => {
  const b = new LeastRequestBalancer({ random: seededRandom(1) });
  b.update(endpoints('a:2 b'));
  const a = b.get(keyOf('a'))!;
  for (let i = 0; i < 3; i++) b.onStart(a);
  // a: 2 / 4 = 0.5 against b: 1 / 1.
  const got = shares(b, 30_000);
  assert.ok(Math.abs(got.get('b')! - 2 / 3) < TOLERANCE, `b: ${got.get('b')}`);
});

test('least request: active request bias 0 ignores load when weights differ', () => {
  const b = new LeastRequestBalancer({ random: seededRandom(1), activeRequestBias: 0 });
  b.update(endpoints('a:2 b'));
  for (let i = 0; i < 3; i++) b.onStart(b.get(keyOf('a'))!);
  assert.ok(Math.abs(shares(b, 30_000).get('a')! - 2 / 3) < TOLERANCE);
});

function clock(start = 0): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

test('peak EWMA: the slower endpoint loses every comparison', () => {
  const c = clock(1000);
  const b = new PeakEwmaBalancer({ random: seededRandom(3), now: c.now });
  b.update(endpoints('a b c'));
  const latency: Record<string, number> = { a: 10, b: 100, c: 12 };
  for (const letter of ['a', 'b', 'c']) b.onEnd(b.get(keyOf(letter))!, { latencyMs: latency[letter], ok: true });
  const got = shares(b, 10_000);
  assert.equal(got.get('b'), undefined);
  assert.ok(Math.abs(got.get('a')! - 2 / 3) < TOLERANCE, `a: ${got.get('a')}`);
});

test('peak EWMA: cost is latency × (requests in flight + 1)', () => {
  const c = clock();
  const b = new PeakEwmaBalancer({ random: seededRandom(3), now: c.now });
  b.update(endpoints('a b'));
  const [a, bb] = [b.get(keyOf('a'))!, b.get(keyOf('b'))!];
  b.onEnd(a, { latencyMs: 10, ok: true });
  b.onEnd(bb, { latencyMs: 25, ok: true });
  for (let i = 0; i < 2; i++) b.onStart(a);
  assert.equal(b.cost(a), 30);
  assert.equal(b.cost(bb), 25);
  assert.equal(sequence(b, 4), 'b b b b');
});

test('peak EWMA: cost is divided by weight', () => {
  const c = clock();
  const b = new PeakEwmaBalancer({ random: seededRandom(3), now: c.now });
  b.update(endpoints('a:2 b'));
  for (const letter of ['a', 'b']) b.onEnd(b.get(keyOf(letter))!, { latencyMs: 10, ok: true });
  b.onStart(b.get(keyOf('a'))!);
  // a: 10 × 2 / 2 = 10 ties b: 10 × 1 / 1; a second request in flight tips it.
  assert.equal(b.cost(b.get(keyOf('a'))!), 10);
  b.onStart(b.get(keyOf('a'))!);
  assert.equal(sequence(b, 3), 'b b b');
});

test('peak EWMA: a slower response raises the estimate at once, which then decays with time', () => {
  const c = clock();
  const b = new PeakEwmaBalancer({ random: seededRandom(3), now: c.now, decayMs: 10_000 });
  b.update(endpoints('a'));
  const a = b.get(keyOf('a'))!;
  b.onEnd(a, { latencyMs: 10, ok: true });
  c.advance(1);
  b.onEnd(a, { latencyMs: 500, ok: true });
  assert.equal(b.cost(a), 500);
  c.advance(10_000);
  b.onEnd(a, { latencyMs: 10, ok: true });
  // 500·e^-1 + 10·(1 - e^-1)
  assert.ok(Math.abs(b.cost(a) - (500 * Math.exp(-1) + 10 * (1 - Math.exp(-1)))) < 1e-9, `${b.cost(a)}`);
});

test('peak EWMA: a new endpoint is probed, but gets no second request before its first answer', () => {
  const c = clock();
  const b = new PeakEwmaBalancer({ random: seededRandom(3), now: c.now });
  b.update(endpoints('a'));
  b.onEnd(b.get(keyOf('a'))!, { latencyMs: 50, ok: true });
  b.update(endpoints('a b'));
  const fresh = b.pick({})!;
  assert.equal(letterOf(fresh), 'b');
  b.onStart(fresh);
  assert.equal(sequence(b, 5), 'a a a a a');
  c.advance(5);
  b.onEnd(fresh, { latencyMs: 5, ok: true });
  assert.equal(sequence(b, 3), 'b b b');
});

test('peak EWMA: a failure counts as at least failureLatencyMs, so fast failures do not attract traffic', () => {
  const c = clock();
  const b = new PeakEwmaBalancer({ random: seededRandom(3), now: c.now, failureLatencyMs: 800 });
  b.update(endpoints('a b'));
  b.onEnd(b.get(keyOf('a'))!, { latencyMs: 1, ok: false });
  b.onEnd(b.get(keyOf('b'))!, { latencyMs: 40, ok: true });
  assert.equal(b.cost(b.get(keyOf('a'))!), 800);
  assert.equal(sequence(b, 3), 'b b b');
});

test('peak EWMA: estimates survive an update', () => {
  const c = clock();
  const b = new PeakEwmaBalancer({ random: seededRandom(3), now: c.now });
  b.update(endpoints('a b'));
  b.onEnd(b.get(keyOf('a'))!, { latencyMs: 70, ok: true });
  b.update(endpoints('a b c'));
  assert.equal(b.cost(b.get(keyOf('a'))!), 70);
});

test('registry: every policy has a unique name and an unknown one is refused with the list', () => {
  const names = BALANCER_POLICIES.map((p) => p.name);
  assert.deepEqual(names, ['RoundRobin', 'WeightedRoundRobin', 'Random', 'LeastRequest', 'PeakEWMA', 'RingHash', 'Maglev']);
  assert.deepEqual(BALANCER_POLICIES.filter((p) => p.hashing).map((p) => p.name), ['RingHash', 'Maglev']);
  assert.throws(() => createBalancer('Fastest'), /unknown load-balancing policy Fastest; known: RoundRobin, /);
  assert.ok(createBalancer('WeightedRoundRobin') instanceof WeightedRoundRobinBalancer);
});

test('seeded randomness repeats; weights are clamped to positive integers', () => {
  const x = seededRandom(42);
  const y = seededRandom(42);
  for (let i = 0; i < 5; i++) assert.equal(x(), y());
  const b = balancer('WeightedRoundRobin', 'a b');
  b.update([{ key: keyOf('a'), weight: 0 }, { key: keyOf('b'), weight: 2.6 }, { key: keyOf('c'), weight: Number.NaN }]);
  assert.deepEqual(b.endpoints.map((e) => e.weight), [1, 3, 1]);
});
