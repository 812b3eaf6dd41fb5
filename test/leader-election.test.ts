import assert from 'node:assert/strict';
import { after, afterEach, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { silentLogger } from '../src/observability/index.ts';
import { LeaderElector, type LeaderElectionOptions } from '../src/providers/index.ts';
import { startKubeApiServer, type KubeApiServer } from './helpers/kube-apiserver.ts';

// Short durations keep the suite fast while keeping client-go's proportions:
// leaseDuration > renewDeadline > 1.2 × retryPeriod.
const FAST = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 } as const;

let server: KubeApiServer;
let kubeConfig: KubeConfig;
let leaseCount = 0;
const running: LeaderElector[] = [];

before(async () => {
  server = await startKubeApiServer();
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(server.kubeconfigPath);
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});
after(() => server.stop());

interface Candidate {
  readonly elector: LeaderElector;
  readonly events: string[];
  /** performance.now() of each start of leading. */
  readonly startedAt: number[];
}

function candidate(lease: string, identity: string, extra: Partial<LeaderElectionOptions> = {}): Candidate {
  const elector = new LeaderElector({ kubeConfig, logger: silentLogger(), namespace: 'default', name: lease, identity, ...FAST, ...extra });
  running.push(elector);
  const c: Candidate = { elector, events: [], startedAt: [] };
  elector.onStartedLeading(() => {
    c.events.push('started');
    c.startedAt.push(performance.now());
  });
  elector.onStoppedLeading(() => c.events.push('stopped'));
  return c;
}

function newLease(): string {
  return `waygate-test-${++leaseCount}`;
}

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

function leaseSpec(name: string) {
  return server.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { namespace: 'default', name } }).spec;
}

test('two electors on one Lease: exactly one leads, and the Lease names it', async () => {
  const lease = newLease();
  // Longer than FAST: a loaded machine must not make the leader miss its renew deadline here.
  const steady = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 100 };
  const a = candidate(lease, 'replica-a', steady);
  const b = candidate(lease, 'replica-b', steady);
  a.elector.start();
  b.elector.start();
  {
    await until(() => a.elector.isLeader() || b.elector.isLeader(), 3000, 'a leader');
    const leaders = new Set<string>();
    for (let i = 0; i < 60; i++) {
      const leading = [a, b].filter((c) => c.elector.isLeader());
      assert.equal(leading.length, 1, 'exactly one leader at every instant');
      leaders.add(leading[0].elector.identity);
      await sleep(20);
    }
    assert.equal(leaders.size, 1, 'the same leader throughout');
    const [leader] = leaders;
    const spec = leaseSpec(lease);
    assert.equal(spec.holderIdentity, leader);
    assert.equal(spec.leaseDurationSeconds, 3);
    assert.match(spec.renewTime, /\.\d{6}Z$/, 'renewTime is a MicroTime (six fractional digits)');
    assert.deepEqual([a, b].map((c) => c.events.join(',')).sort(), ['', 'started']);
    assert.equal(a.elector.leader, leader);
    assert.equal(b.elector.leader, leader);
  }
});

test('a leader that stops without releasing (a crash) is replaced after the lease duration, not before', async (t) => {
  const lease = newLease();
  const a = candidate(lease, 'replica-a', { releaseOnStop: false });
  a.elector.start();
  await until(() => a.elector.isLeader(), 3000, 'a to lead');
  const b = candidate(lease, 'replica-b');
  b.elector.start();
  await sleep(300); // b sees a renewing
  assert.equal(b.elector.isLeader(), false);
  const crashedAt = performance.now();
  await a.elector.stop();
  await until(() => b.elector.isLeader(), 3000, 'b to take over');
  const takeoverMs = b.startedAt[0] - crashedAt;
  t.diagnostic(`takeover ${takeoverMs.toFixed(0)} ms after the crash (lease ${FAST.leaseDurationMs} ms)`);
  // b counts the lease duration from the last change it saw (at most one retry period before
  // the crash), then needs one more attempt (at most 1.2 retry periods).
  assert.ok(takeoverMs >= FAST.leaseDurationMs - 2 * FAST.retryPeriodMs, `took over after ${takeoverMs.toFixed(0)} ms: before the lease ran out`);
  assert.ok(takeoverMs <= FAST.leaseDurationMs + 3 * FAST.retryPeriodMs + 400, `took over after ${takeoverMs.toFixed(0)} ms`);
  const spec = leaseSpec(lease);
  assert.equal(spec.holderIdentity, 'replica-b');
  assert.equal(spec.leaseTransitions, 1);
  await b.elector.stop();
});

test('release on shutdown: the successor takes over at once', async (t) => {
  const lease = newLease();
  const slow = { leaseDurationMs: 5000, renewDeadlineMs: 3000 };
  const a = candidate(lease, 'replica-a', slow);
  a.elector.start();
  await until(() => a.elector.isLeader(), 3000, 'a to lead');
  const b = candidate(lease, 'replica-b', slow);
  b.elector.start();
  await sleep(300);
  const stoppedAt = performance.now();
  await a.elector.stop();
  assert.deepEqual(a.events, ['started', 'stopped'], 'listeners hear the end of leadership before the lease is released');
  const released = leaseSpec(lease);
  assert.ok(released.holderIdentity === '' || released.holderIdentity === 'replica-b', `holder after release: ${released.holderIdentity}`);
  await until(() => b.elector.isLeader(), 2000, 'b to take over');
  const takeoverMs = b.startedAt[0] - stoppedAt;
  t.diagnostic(`takeover ${takeoverMs.toFixed(0)} ms after the release (lease ${slow.leaseDurationMs} ms)`);
  assert.ok(takeoverMs < 1000, `took over ${takeoverMs.toFixed(0)} ms after the release (the lease lasts 5000 ms)`);
  assert.equal(leaseSpec(lease).holderIdentity, 'replica-b');
  await b.elector.stop();
});

test('a leader that cannot reach the API server steps down within the renew deadline', async (t) => {
  const lease = newLease();
  const a = candidate(lease, 'replica-a');
  a.elector.start();
  await until(() => a.elector.isLeader(), 3000, 'a to lead');
  await server.down();
  const downAt = performance.now();
  try {
    await until(() => !a.elector.isLeader(), 2000, 'a to step down');
    const stepDownMs = performance.now() - downAt;
    t.diagnostic(`stepped down ${stepDownMs.toFixed(0)} ms after the server went away (renew deadline ${FAST.renewDeadlineMs} ms)`);
    assert.ok(stepDownMs <= FAST.renewDeadlineMs + 200, `stepped down after ${stepDownMs.toFixed(0)} ms`);
    assert.ok(stepDownMs < FAST.leaseDurationMs, 'before any follower could take over');
    await until(() => a.events.includes('stopped'), 1000, 'the stopped event');
  } finally {
    await server.up();
  }
  await until(() => a.elector.isLeader(), 3000, 'a to lead again once the server is back');
  await a.elector.stop();
});

test('a follower whose clock is an hour ahead does not take over a lease that is being renewed', async () => {
  const lease = newLease();
  const a = candidate(lease, 'replica-a', { now: () => Date.now() - 3_600_000 });
  a.elector.start();
  await until(() => a.elector.isLeader(), 3000, 'a to lead');
  const b = candidate(lease, 'replica-b', { now: () => Date.now() + 3_600_000 });
  b.elector.start();
  await sleep(2 * FAST.leaseDurationMs);
  assert.equal(b.elector.isLeader(), false, 'b judges expiry by when it saw the record change, not by renewTime');
  assert.equal(a.elector.isLeader(), true);
  assert.equal(leaseSpec(lease).holderIdentity, 'replica-a');
  await a.elector.stop();
  await until(() => b.elector.isLeader(), 2000, 'b to take over after the release');
  await b.elector.stop();
});

test('options are checked like client-go', () => {
  const base = { kubeConfig, logger: silentLogger(), namespace: 'default', name: 'x', identity: 'x' };
  assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 1000, renewDeadlineMs: 1000, retryPeriodMs: 100 }), /leaseDuration must be greater than renewDeadline/);
  assert.throws(() => new LeaderElector({ ...base, leaseDurationMs: 2000, renewDeadlineMs: 1000, retryPeriodMs: 900 }), /renewDeadline must be greater/);
  const d = new LeaderElector(base);
  assert.equal(d.isLeader(), false);
});
