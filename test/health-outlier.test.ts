// Passive outlier detection on real sockets: ejection after failures in a row, growing ejection
// times, the maximum ejected share, and what does not count. src/dataplane/README.md.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'undici';
import { DataPlane, OUTLIER_CHANNEL, PROXY_RETRY_CHANNEL, type OutlierEvent, type ProxyRetryEvent } from '../src/dataplane/index.ts';
import { seededRandom } from '../src/dataplane/lb/index.ts';
import type { IR, IRBackendPolicy, IREndpoint } from '../src/ir/index.ts';
import { answered, record, sleep, startLoad, until } from './helpers/health-load.ts';
import { bind, forward, ir, listener, prefix } from './helpers/ir.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

const endpoint = (port: number): IREndpoint => ({ address: '127.0.0.1', port });
const endpoints = (ports: number[]): IREndpoint[] => [...ports].sort((a, b) => a - b).map(endpoint);

function appConfig(port: number, ports: number[], policy?: IRBackendPolicy): IR {
  return ir([bind(port, [listener('gw', [forward('app', 'svc/app')])])], [{ name: 'svc/app', endpoints: endpoints(ports), ...(policy ? { policy } : {}) }]);
}

/** Answers 500 when `fails()` says so, else its name. */
function failing(name: string, fails: () => boolean): Promise<Upstream> {
  return startUpstream(name, (req, res) => {
    req.resume();
    req.on('end', () => {
      if (fails()) {
        res.statusCode = 500;
        res.end('boom\n');
      } else res.end(`${name}\n`);
    });
  });
}

const seen = (ups: readonly Upstream[]): number => ups.reduce((n, u) => n + u.seen.length, 0);

test('flapping backend: one of 5 fails half its requests; its share falls below 5 % within 10 s, and it returns after it recovers', { timeout: 60_000 }, async (t) => {
  const random = seededRandom(42);
  let flapping = true;
  const flapper = await failing('flapper', () => flapping && random() < 0.5);
  const others = await Promise.all(['a', 'b', 'c', 'd'].map((n) => startUpstream(n)));
  const all = [flapper, ...others];
  const port = await freePort();
  const dp = new DataPlane({});
  const outliers = record<OutlierEvent>(OUTLIER_CHANNEL);
  t.after(() => {
    outliers.stop();
    return Promise.all([dp.close(1000), ...all.map((u) => u.close())]);
  });
  const key = `127.0.0.1:${flapper.port}`;
  await dp.apply('v1', appConfig(port, all.map((u) => u.port), {
    outlierDetection: { consecutive5xx: 3, baseEjectionTimeMs: 1000, maxEjectionTimeMs: 3000 },
  }));
  const load = startLoad(port, 16);
  try {
    const started = Date.now();
    await until('the flapping endpoint is ejected', () => outliers.events.some((e) => e.ejected), 10_000);
    const ejectedAfterMs = Date.now() - started;
    // Its share from the first ejection on: out 1 s, 2 s, 3 s…, back each time only until it fails 3 times in a row.
    const [flapperBefore, totalBefore] = [flapper.seen.length, seen(all)];
    await sleep(5000);
    const share = (flapper.seen.length - flapperBefore) / (seen(all) - totalBefore);
    t.diagnostic(`ejected after ${ejectedAfterMs} ms; share over the next 5 s ${(share * 100).toFixed(2)} % of ${seen(all) - totalBefore} requests`);
    assert.ok(ejectedAfterMs < 10_000);
    assert.ok(share < 0.05, `share ${(share * 100).toFixed(2)} %`);
    assert.ok(outliers.events.every((e) => e.endpoint === key), 'only the flapping endpoint is ejected');

    // It recovers: once its ejection time is over it takes its share again.
    flapping = false;
    await until('the endpoint to return', () => outliers.events.at(-1)!.ejected === false, 5000);
    const ejections = outliers.events.filter((e) => e.ejected).length;
    const [recoveredBefore, recoveredTotal] = [flapper.seen.length, seen(all)];
    await sleep(1000);
    const back = (flapper.seen.length - recoveredBefore) / (seen(all) - recoveredTotal);
    t.diagnostic(`${ejections} ejections (${outliers.events.filter((e) => e.ejected).map((e) => e.durationMs).join(', ')} ms); share after recovery ${(back * 100).toFixed(1)} %`);
    assert.ok(back > 0.15, `share after recovery ${(back * 100).toFixed(1)} %`);
    assert.equal(outliers.events.filter((e) => e.ejected).length, ejections, 'not ejected again once it recovered');
  } finally {
    await load.stop();
  }
  assert.deepEqual(load.errors.slice(0, 5), []);
  assert.deepEqual([...load.statuses.keys()].sort(), [200, 500], 'never a 502 or 503 from the proxy');
});

test('the ejection time grows with each ejection up to the maximum, and shrinks after time in service', { timeout: 30_000 }, async (t) => {
  let failingNow = true;
  const bad = await failing('bad', () => failingNow);
  const good = await Promise.all(['a', 'b'].map((n) => startUpstream(n)));
  const port = await freePort();
  const dp = new DataPlane({});
  // The requests the bad endpoint had received when each event was published.
  const seenAt: number[] = [];
  const outliers = record<OutlierEvent>(OUTLIER_CHANNEL, (e) => {
    seenAt.push(bad.seen.length);
    // It recovers as it returns from its fourth ejection.
    if (!e.ejected && seenAt.length === 8) failingNow = false;
  });
  t.after(() => {
    outliers.stop();
    return Promise.all([dp.close(1000), bad.close(), ...good.map((u) => u.close())]);
  });
  await dp.apply('v1', appConfig(port, [bad.port, ...good.map((u) => u.port)], {
    outlierDetection: { consecutive5xx: 2, baseEjectionTimeMs: 150, maxEjectionTimeMs: 600, intervalMs: 1000 },
  }));
  const ejected = () => outliers.events.filter((e) => e.ejected);
  const load = startLoad(port, 1);
  try {
    await until('four ejections', () => outliers.events.length >= 8);
    assert.deepEqual(ejected().map((e) => e.durationMs), [150, 300, 450, 600]);
    // One client, one request at a time: an ejected endpoint receives nothing until it returns.
    for (let i = 0; i + 1 < 8; i += 2) assert.equal(seenAt[i + 1], seenAt[i], `requests to the endpoint while ejected (ejection ${i / 2 + 1})`);
    // Two seconds in service count down two intervals, so the next ejection is shorter.
    await sleep(2100);
    const before = ejected().length;
    failingNow = true;
    await until('another ejection', () => ejected().length > before);
    const next = ejected()[before].durationMs;
    t.diagnostic(`after recovery: ${next} ms`);
    assert.ok(next < 600 && next >= 150, `${next} ms`);
  } finally {
    await load.stop();
  }
});

test('at most the maximum share of endpoints is ejected, at least one, and a lone ejected endpoint still serves', { timeout: 30_000 }, async (t) => {
  const five = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => failing(n, () => true)));
  const lone = await failing('lone', () => true);
  const all = [...five, lone];
  const port = await freePort();
  const dp = new DataPlane({});
  const ejectedNow = new Map<string, number>();
  const most = new Map<string, number>();
  const outliers = record<OutlierEvent>(OUTLIER_CHANNEL, (e) => {
    const n = (ejectedNow.get(e.backend) ?? 0) + (e.ejected ? 1 : -1);
    ejectedNow.set(e.backend, n);
    most.set(e.backend, Math.max(n, most.get(e.backend) ?? 0));
  });
  t.after(() => {
    outliers.stop();
    return Promise.all([dp.close(1000), ...all.map((u) => u.close())]);
  });
  const ejection = (maxEjectionPercent?: number): IRBackendPolicy => ({
    outlierDetection: { consecutive5xx: 1, baseEjectionTimeMs: 60_000, ...(maxEjectionPercent === undefined ? {} : { maxEjectionPercent }) },
  });
  const config = (): IR => ir([bind(port, [listener('gw', [
    forward('half', 'svc/half', prefix('/half')),
    forward('ten', 'svc/ten', prefix('/ten')),
    forward('lone', 'svc/lone', prefix('/lone')),
  ])])], [
    { name: 'svc/half', endpoints: endpoints(five.map((u) => u.port)), policy: ejection(50) },
    { name: 'svc/ten', endpoints: endpoints(five.map((u) => u.port)), policy: ejection() },
    { name: 'svc/lone', endpoints: [endpoint(lone.port)], policy: ejection() },
  ]);
  await dp.apply('v1', config());
  for (const path of ['/half', '/ten', '/lone']) {
    const load = startLoad(port, 4, 200, path);
    await until(`${path}: 200 requests`, () => answered(load) >= 200);
    await load.stop();
    assert.deepEqual([...load.statuses], [[500, 200]], `${path}: every request reached an upstream`);
  }
  // 50 % of 5 is 2; 10 % of 5 rounds to 0, but one may always be ejected; so may a lone endpoint, which then serves anyway (panic).
  assert.deepEqual(Object.fromEntries(most), { 'svc/half': 2, 'svc/ten': 1, 'svc/lone': 1 });
  assert.equal(lone.seen.length, 200);
  // Ejections survive a new configuration; removing an ejected endpoint frees its place.
  const ejectedKey = outliers.events.find((e) => e.backend === 'svc/ten' && e.ejected)!.endpoint;
  await dp.apply('v2', config());
  const ten = dp.live!.backends.get('svc/ten')!.balancer;
  assert.deepEqual(ten.endpoints.filter((e) => e.ejected).map((e) => e.key), [ejectedKey]);
  five.splice(five.findIndex((u) => `127.0.0.1:${u.port}` === ejectedKey), 1);
  await dp.apply('v3', config());
  const load = startLoad(port, 1, 20, '/ten');
  await until('20 requests', () => (load.statuses.get(500) ?? 0) >= 20);
  await load.stop();
  assert.equal(dp.live!.backends.get('svc/ten')!.balancer.endpoints.filter((e) => e.ejected).length, 1);
});

test('refused connections eject an endpoint by default: five in a row, then no attempt goes there', { timeout: 30_000 }, async (t) => {
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => startUpstream(n)));
  const closed = await freePort();
  const port = await freePort();
  const dp = new DataPlane({});
  const retries = record<ProxyRetryEvent>(PROXY_RETRY_CHANNEL);
  const outliers = record<OutlierEvent>(OUTLIER_CHANNEL);
  t.after(() => {
    retries.stop();
    outliers.stop();
    return Promise.all([dp.close(1000), ...ups.map((u) => u.close())]);
  });
  // No policy: the defaults apply.
  await dp.apply('v1', appConfig(port, [closed, ...ups.map((u) => u.port)]));
  const client = new Pool(`http://127.0.0.1:${port}`);
  t.after(() => client.close());
  const get = async (): Promise<number> => {
    const res = await client.request({ path: '/', method: 'GET' });
    await res.body.text();
    return res.statusCode;
  };
  while (outliers.events.length === 0) assert.equal(await get(), 200);
  const refusedKey = `127.0.0.1:${closed}`;
  assert.deepEqual(outliers.events.map((e) => [e.endpoint, e.reason, e.durationMs]), [[refusedKey, 'consecutiveGatewayFailure', 30_000]]);
  assert.equal(retries.events.filter((e) => e.endpoint === refusedKey).length, 5);
  const before = retries.events.length;
  for (let i = 0; i < 60; i++) assert.equal(await get(), 200);
  assert.equal(retries.events.length, before, 'no attempt went to the ejected endpoint');
});

test('a close after the request was written counts against the endpoint only when it is not retried', { timeout: 60_000 }, async (t) => {
  // Idle keep-alive connections closed every 5 ms: the idle race, retried for GET requests.
  const ups = await Promise.all(['a', 'b', 'c', 'd'].map((n) => startUpstream(n)));
  const sweeps = ups.map((u) => {
    u.server.keepAliveTimeout = 0;
    return setInterval(() => u.server.closeIdleConnections(), 5);
  });
  // Reads the request, then drops the connection without answering.
  const crasher = await startUpstream('crasher', (req) => {
    req.resume();
    req.on('end', () => req.socket.destroy());
  });
  const echo = await startUpstream('echo');
  const port = await freePort();
  const dp = new DataPlane({});
  const retries = record<ProxyRetryEvent>(PROXY_RETRY_CHANNEL);
  const outliers = record<OutlierEvent>(OUTLIER_CHANNEL);
  t.after(() => {
    for (const s of sweeps) clearInterval(s);
    retries.stop();
    outliers.stop();
    return Promise.all([dp.close(1000), crasher.close(), echo.close(), ...ups.map((u) => u.close())]);
  });
  const strict: IRBackendPolicy = { outlierDetection: { consecutiveGatewayFailure: 1, consecutive5xx: 1 } };
  const twice: IRBackendPolicy = { outlierDetection: { consecutiveGatewayFailure: 2 } };
  await dp.apply('v1', ir([bind(port, [listener('gw', [
    forward('crash', 'svc/crash', prefix('/crash')),
    forward('app', 'svc/app'),
  ])])], [
    { name: 'svc/app', endpoints: endpoints(ups.map((u) => u.port)), policy: strict },
    { name: 'svc/crash', endpoints: endpoints([crasher.port, echo.port]), policy: twice },
  ]));
  const load = startLoad(port, 16, 3000);
  await until('3000 requests', () => answered(load) >= 3000, 50_000);
  await load.stop();
  assert.deepEqual([...load.statuses], [[200, 3000]]);
  const races = retries.events.filter((e) => e.written && e.route === 'app').length;
  t.diagnostic(`${races} idle races retried`);
  assert.ok(races > 0, 'the races happened');
  assert.equal(outliers.events.length, 0, 'a retried race counts for nothing, even with a threshold of 1');

  const client = new Pool(`http://127.0.0.1:${port}`);
  t.after(() => client.close());
  const send = async (method: string): Promise<number> => {
    const res = await client.request({ path: '/crash', method, body: method === 'POST' ? 'x' : undefined });
    await res.body.text();
    return res.statusCode;
  };
  // GETs are retried on the echo endpoint: the crasher is not ejected.
  for (let i = 0; i < 6; i++) assert.equal(await send('GET'), 200);
  assert.equal(outliers.events.length, 0);
  // POSTs are not retried: every other one fails, and the second failure in a row on the crasher ejects it.
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push(await send('POST'));
  assert.deepEqual(statuses.sort(), [200, 200, 502, 502]);
  assert.deepEqual(outliers.events.map((e) => [e.endpoint, e.reason]), [[`127.0.0.1:${crasher.port}`, 'consecutiveGatewayFailure']]);
  for (let i = 0; i < 6; i++) assert.equal(await send('POST'), 200);
});
