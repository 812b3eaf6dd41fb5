// Active health checks on real sockets: thresholds, TCP checks, jitter, one probe per endpoint and
// check for the whole node, the view over the supervisor's IPC to every worker (respawned ones
// included), and traffic that still flows when every endpoint is unhealthy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { ActiveHealthChecker, DataPlane, type HealthUpdate } from '../src/dataplane/index.ts';
import { firstProbeDelay, healthCheckId, healthKey, nextProbeDelay } from '../src/dataplane/health/health-check.ts';
import { HealthView } from '../src/dataplane/health/health-view.ts';
import { seededRandom } from '../src/dataplane/lb/index.ts';
import type { IR, IRBackend, IRHealthCheck } from '../src/ir/index.ts';
import { silentLogger } from '../src/observability/index.ts';
import { HealthRelay, runSupervisor, type FleetEnvelope } from '../src/supervisor/index.ts';
import { sleep, until } from './helpers/health-load.ts';
import { bind, forward, ir, listener, prefix } from './helpers/ir.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

/** An upstream whose health path answers `health.status` (200 until changed); other paths answer its name. */
async function checkedUpstream(name: string, healthPath = '/healthz'): Promise<Upstream & { health: { status: number; answers: number[] } }> {
  const health = { status: 200, answers: [] as number[] };
  const u = await startUpstream(name, (req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === healthPath) {
        health.answers.push(health.status);
        res.statusCode = health.status;
        return res.end();
      }
      res.end(`${name}\n`);
    });
  });
  return Object.assign(u, { health });
}

const probesOf = (u: Upstream, path = '/healthz'): Upstream['seen'] => u.seen.filter((r) => r.url === path);

function recorder(): { updates: HealthUpdate[]; onUpdate: (u: HealthUpdate) => void } {
  const updates: HealthUpdate[] = [];
  return { updates, onUpdate: (u) => void updates.push(u) };
}

const fast: IRHealthCheck = { type: 'HTTP', intervalMs: 40, timeoutMs: 500, jitterPercent: 0, unhealthyThreshold: 3, healthyThreshold: 2, http: { path: '/healthz' } };

function checkedBackend(name: string, ports: number[], healthCheck: IRHealthCheck): IRBackend {
  return { name, endpoints: [...ports].sort((a, b) => a - b).map((port) => ({ address: '127.0.0.1', port })), policy: { healthCheck } };
}

test('an HTTP check: unhealthy after 3 failed probes in a row, healthy again after 2 passed ones', { timeout: 20_000 }, async (t) => {
  const u = await checkedUpstream('app');
  const { updates, onUpdate } = recorder();
  // The answers the endpoint had given when each change was reported.
  const answersAt: number[][] = [];
  const check: IRHealthCheck = { ...fast, http: { path: '/healthz', host: 'health.example', expectedStatuses: [{ start: 200, end: 204 }] } };
  const checker = new ActiveHealthChecker({ onUpdate: (update) => {
    answersAt.push([...u.health.answers]);
    onUpdate(update);
  } });
  t.after(() => {
    checker.close();
    return u.close();
  });
  const key = healthKey(healthCheckId(check), '127.0.0.1', u.port);
  checker.update(ir([], [checkedBackend('svc/app', [u.port], check)]));
  assert.deepEqual(updates, [{ full: true, entries: [] }], 'a full view first: every endpoint starts healthy');
  await until('three probes', () => u.health.answers.length >= 3);
  const probe = probesOf(u)[0];
  assert.equal(probe.method, 'GET');
  assert.equal(probe.headers.host, 'health.example');
  assert.equal(probe.headers['user-agent'], 'waygate-health-check');

  u.health.status = 503;
  const passedBefore = u.health.answers.length;
  await until('unhealthy', () => updates.length === 2);
  assert.deepEqual(updates[1], { full: false, entries: [{ key, healthy: false, reason: 'status 503' }] });
  assert.deepEqual(answersAt[1].slice(passedBefore), [503, 503, 503]);

  // 204 is expected too; 205 is not, and starts the count again.
  u.health.status = 204;
  const failedBefore = u.health.answers.length;
  await until('healthy', () => updates.length === 3);
  assert.deepEqual(updates[2], { full: false, entries: [{ key, healthy: true, reason: 'status 204' }] });
  assert.deepEqual(answersAt[2].slice(failedBefore), [204, 204]);
  assert.deepEqual(checker.view(), { full: true, entries: [] });
});

test('a TCP check: a closed port turns unhealthy, an open one stays healthy; a probe that times out fails', { timeout: 20_000 }, async (t) => {
  const open = await startUpstream('open');
  // Accepts connections but never answers: an HTTP probe times out.
  const silent = await startUpstream('silent', () => {});
  const closed = await freePort();
  const { updates, onUpdate } = recorder();
  const checker = new ActiveHealthChecker({ onUpdate });
  t.after(() => {
    checker.close();
    return Promise.all([open.close(), silent.close()]);
  });
  const tcp: IRHealthCheck = { type: 'TCP', intervalMs: 30, timeoutMs: 300, unhealthyThreshold: 2 };
  const http: IRHealthCheck = { ...fast, timeoutMs: 100, unhealthyThreshold: 2 };
  checker.update(ir([], [checkedBackend('svc/tcp', [open.port, closed], tcp), checkedBackend('svc/silent', [silent.port], http)]));
  await until('two endpoints unhealthy', () => checker.view().entries.length === 2);
  const changes = updates.slice(1).flatMap((u) => u.entries);
  assert.deepEqual(changes.map((e) => [e.key, e.healthy, e.reason]).sort(), [
    [healthKey(healthCheckId(http), '127.0.0.1', silent.port), false, 'timeout'],
    [healthKey(healthCheckId(tcp), '127.0.0.1', closed), false, 'ECONNREFUSED'],
  ].sort());
  await sleep(200);
  const status = checker.status();
  assert.ok(status.find((s) => s.key === healthKey(healthCheckId(tcp), '127.0.0.1', open.port))!.healthy);
  assert.ok(status.every((s) => s.probes >= 2), JSON.stringify(status));
});

test('probe delays stay within the interval plus its jitter', { timeout: 20_000 }, async (t) => {
  const spec = { intervalMs: 1000, jitterPercent: 20 };
  assert.equal(nextProbeDelay(spec, () => 0), 1000);
  assert.equal(nextProbeDelay(spec, () => 0.999999), 1199);
  assert.equal(firstProbeDelay(spec, () => 0.999999), 199);
  const random = seededRandom(1);
  const delays = Array.from({ length: 10_000 }, () => nextProbeDelay(spec, random));
  assert.ok(delays.every((d) => d >= 1000 && d < 1200));
  assert.ok(Math.min(...delays) < 1010 && Math.max(...delays) > 1190, 'the jitter spreads over its whole range');
  assert.equal(nextProbeDelay({ intervalMs: 1000, jitterPercent: 0 }, random), 1000);

  // On real sockets: a probe starts at least an interval after the previous one ended.
  const u = await checkedUpstream('app');
  const starts: number[] = [];
  u.server.prependListener('request', (req: IncomingMessage) => void (req.url === '/healthz' && starts.push(performance.now())));
  const checker = new ActiveHealthChecker({ onUpdate: () => {} });
  t.after(() => {
    checker.close();
    return u.close();
  });
  checker.update(ir([], [checkedBackend('svc/app', [u.port], { ...fast, intervalMs: 60, jitterPercent: 50 })]));
  await until('12 probes', () => starts.length >= 12);
  const gaps = starts.slice(1).map((s, i) => s - starts[i]);
  t.diagnostic(`gaps ${gaps.map((g) => g.toFixed(0)).join(' ')} ms`);
  assert.ok(gaps.every((g) => g >= 59), `a gap below the interval: ${gaps.join(', ')}`);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  assert.ok(mean < 60 * 1.5 + 40, `mean gap ${mean} ms`);
});

test('one probe per endpoint and check, however many backends and routes use it', { timeout: 20_000 }, async (t) => {
  const u = await checkedUpstream('shared');
  const port = await freePort();
  const { updates, onUpdate } = recorder();
  const dp = new DataPlane({});
  const checker = new ActiveHealthChecker({ onUpdate: (update) => {
    onUpdate(update);
    dp.applyHealth(update);
  } });
  t.after(async () => {
    checker.close();
    await Promise.all([dp.close(1000), u.close()]);
  });
  const other: IRHealthCheck = { ...fast, http: { path: '/other' } };
  // Two Services with the same endpoint and check, one of them used by two routes; a third
  // Service checks the same endpoint on another path: a check of its own.
  const config: IR = ir([bind(port, [listener('gw', [
    forward('a1', 'svc/a', prefix('/a1')), forward('a2', 'svc/a', prefix('/a2')), forward('b', 'svc/b', prefix('/b')), forward('c', 'svc/c', prefix('/c')),
  ])])], [checkedBackend('svc/a', [u.port], fast), checkedBackend('svc/b', [u.port], fast), checkedBackend('svc/c', [u.port], other)]);
  checker.update(config);
  await dp.apply('v1', config);
  await sleep(400);
  const status = checker.status();
  assert.deepEqual(status.map((s) => s.key).sort(), [healthKey(healthCheckId(fast), '127.0.0.1', u.port), healthKey(healthCheckId(other), '127.0.0.1', u.port)].sort());
  const healthz = probesOf(u).length;
  const otherProbes = probesOf(u, '/other').length;
  t.diagnostic(`${healthz} probes of /healthz, ${otherProbes} of /other in 400 ms at a 40 ms interval`);
  // At most one probe in flight per endpoint and check: one loop, not two.
  assert.ok(healthz <= 11 && healthz >= 3, `${healthz} probes of /healthz`);
  assert.ok(Math.abs(healthz - status.find((s) => s.key.startsWith(healthCheckId(fast)))!.probes) <= 1);
  // A new configuration with the same checks keeps the loops (no second probe loop starts).
  checker.update(config);
  assert.equal(checker.status().length, 2);
  // One result serves every backend that shares it.
  u.health.status = 500;
  await until('unhealthy', () => updates.length >= 2);
  assert.equal(updates.at(-1)!.entries.length, 1);
  const ejected = (name: string) => dp.live!.backends.get(name)!.balancer.endpoints.map((e) => e.ejected);
  assert.deepEqual([ejected('svc/a'), ejected('svc/b'), ejected('svc/c')], [[true], [true], [false]]);
});

test('the data plane avoids an unhealthy endpoint, returns to it when healthy, and uses every endpoint when all are unhealthy', { timeout: 20_000 }, async (t) => {
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => checkedUpstream(n)));
  const port = await freePort();
  const dp = new DataPlane({});
  // As with --workers 0: the checker feeds the data plane in-process.
  const checker = new ActiveHealthChecker({ onUpdate: (update) => dp.applyHealth(update) });
  t.after(async () => {
    checker.close();
    await Promise.all([dp.close(1000), ...ups.map((u) => u.close())]);
  });
  const config = ir([bind(port, [listener('gw', [forward('app', 'svc/app')])])], [checkedBackend('svc/app', ups.map((u) => u.port), { ...fast, healthyThreshold: 1 })]);
  checker.update(config);
  await dp.apply('v1', config);
  const balancer = dp.live!.backends.get('svc/app')!.balancer;
  const answeredBy = async (n = 30): Promise<string> => {
    const names = new Set<string>();
    for (let i = 0; i < n; i++) {
      const res = await request(`http://127.0.0.1:${port}/`);
      assert.equal(res.statusCode, 200);
      names.add((await res.body.text()).trim());
    }
    return [...names].sort().join(',');
  };
  const unhealthy = () => balancer.endpoints.filter((e) => e.ejected).length;
  assert.equal(await answeredBy(), 'a,b,c');
  ups[1].health.status = 500;
  await until('b unhealthy', () => unhealthy() === 1);
  assert.equal(await answeredBy(), 'a,c');
  for (const u of ups) u.health.status = 500;
  await until('all unhealthy', () => unhealthy() === 3);
  assert.equal(await answeredBy(), 'a,b,c', 'panic: every endpoint serves rather than none');
  for (const u of ups) u.health.status = 200;
  await until('all healthy', () => unhealthy() === 0);
  assert.equal(await answeredBy(), 'a,b,c');
});

test('a restarted checker starts from the last view; endpoints no longer checked leave the view', async (t) => {
  const closed = await freePort();
  const check: IRHealthCheck = { type: 'TCP', intervalMs: 60_000 };
  const key = healthKey(healthCheckId(check), '127.0.0.1', closed);
  const { updates, onUpdate } = recorder();
  const checker = new ActiveHealthChecker({ onUpdate, random: () => 0.5 });
  t.after(() => checker.close());
  checker.seed({ full: true, entries: [{ key, healthy: false }, { key: 'gone 127.0.0.1:1', healthy: false }] });
  checker.update(ir([], [checkedBackend('svc/x', [closed], check)]));
  assert.deepEqual(updates, [{ full: true, entries: [{ key, healthy: false }] }]);
  checker.update(ir([], []));
  assert.deepEqual(updates.at(-1), { full: false, entries: [{ key, healthy: true, reason: 'no longer checked' }] });

  const view = new HealthView();
  assert.equal(view.apply({ full: true, entries: [{ key: 'k1', healthy: false }, { key: 'k2', healthy: false }] }), true);
  assert.equal(view.apply({ full: false, entries: [{ key: 'k1', healthy: false }] }), false, 'no change');
  assert.equal(view.apply({ full: false, entries: [{ key: 'k1', healthy: true }] }), true);
  assert.deepEqual(view.full(), { full: true, entries: [{ key: 'k2', healthy: false }] });
  const relay = new HealthRelay();
  assert.equal(relay.full(), undefined, 'nothing to send before the controller spoke');
  relay.apply({ type: 'health', full: true, entries: [{ key: 'k1', healthy: false }] });
  relay.apply({ type: 'health', full: false, entries: [{ key: 'k2', healthy: false }, { key: 'k1', healthy: true }] });
  assert.deepEqual(relay.full(), { type: 'health', full: true, entries: [{ key: 'k2', healthy: false }] });
});

test('workers get health changes over the supervisor\'s IPC, and a respawned worker the whole view', { timeout: 60_000 }, async (t) => {
  const [good, bad] = await Promise.all([checkedUpstream('good'), checkedUpstream('bad')]);
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'waygate-health-'));
  const irFile = join(dir, 'ir.json');
  const fleetLog = join(dir, 'fleet.log');
  await writeFile(fleetLog, '');
  await writeFile(irFile, JSON.stringify(ir([bind(port, [listener('gw', [forward('app', 'svc/app')])])], [
    checkedBackend('svc/app', [good.port, bad.port], { ...fast, healthyThreshold: 1 }),
  ])));
  process.env.WAYGATE_LOG_LEVEL = 'error';
  const started = performance.now();
  const supervisor = runSupervisor({
    entry: new URL('./helpers/health-fleet-child.ts', import.meta.url).pathname,
    args: [irFile, fleetLog],
    workers: 2,
    logger: silentLogger(),
    drainMs: 5000,
  });
  t.after(async () => {
    await supervisor.stop();
    await Promise.all([good.close(), bad.close(), rm(dir, { recursive: true, force: true })]);
  });
  const fleets = async (): Promise<FleetEnvelope[]> => (await readFile(fleetLog, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as FleetEnvelope);
  const allLive = async (): Promise<boolean> => (await fleets()).at(-1)?.allLive === true;
  const waitFor = async (what: string, ok: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + 20_000;
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(20);
    }
  };
  // Fresh connections: SO_REUSEPORT spreads them over both workers.
  const answeredBy = async (n: number): Promise<Map<string, number>> => {
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const res = await request(`http://127.0.0.1:${port}/`, { reset: true });
      const name = (await res.body.text()).trim();
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return counts;
  };
  await waitFor('both workers live', allLive);
  assert.deepEqual([...(await answeredBy(40)).keys()].sort(), ['bad', 'good']);

  const only = async (names: string): Promise<boolean> => [...(await answeredBy(20)).keys()].sort().join(',') === names;
  bad.health.status = 500;
  await waitFor('traffic to leave the unhealthy endpoint', () => only('good'));
  assert.deepEqual([...await answeredBy(60)], [['good', 60]], 'no worker sends to the unhealthy endpoint');

  // A worker dies; its replacement hears the whole view (sent before the configuration).
  const before = (await fleets()).length;
  const worker = childPids().find((p) => p.role === 'worker')!;
  process.kill(worker.pid, 'SIGKILL');
  await waitFor('the worker respawned and live', async () => {
    const f = await fleets();
    return f.slice(before).some((x) => !x.allLive) && f.at(-1)!.allLive;
  });
  assert.ok(!childPids().some((p) => p.pid === worker.pid));
  assert.deepEqual([...await answeredBy(60)], [['good', 60]], 'the respawned worker avoids it from its first request');

  bad.health.status = 200;
  await waitFor('every worker to send to it again', () => only('bad,good'));
  // One checker for the node: probes at the check's pace, not once per worker.
  const elapsed = performance.now() - started;
  t.diagnostic(`${probesOf(bad).length} probes of the bad endpoint in ${elapsed.toFixed(0)} ms at a 40 ms interval`);
  assert.ok(probesOf(bad).length <= elapsed / 40 + 2);
});

/** The children of this process (the supervisor runs in it), with their role. */
function childPids(): { pid: number; role: string }[] {
  const out: { pid: number; role: string }[] = [];
  for (const line of execFileSync('ps', ['-o', 'pid=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n')) {
    const pid = Number(line.trim());
    if (!pid) continue;
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      const role = /(?:^|\0)WAYGATE_ROLE=([^\0]*)/.exec(env)?.[1];
      if (role) out.push({ pid, role });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}
