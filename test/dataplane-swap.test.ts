// Zero-downtime behaviour of DataPlane.apply(): docs/architecture.md §6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Pool } from 'undici';
import { DataPlane } from '../src/dataplane/index.ts';
import type { IR } from '../src/ir/index.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { backend, bind, forward, ir, listener, prefix } from './helpers/ir.ts';

/** Counts the connections a client pool opens and loses. */
function watch(pool: Pool): { connects: number; disconnects: number } {
  const counts = { connects: 0, disconnects: 0 };
  pool.on('connect', () => { counts.connects++; });
  pool.on('disconnect', () => { counts.disconnects++; });
  return counts;
}

function slowUpstream(name: string, ms: number): Promise<Upstream> {
  return startUpstream(name, (req, res) => {
    req.resume();
    setTimeout(() => res.end(`${name}\n`), ms);
  });
}

test('32 keep-alive clients see no failed request and no closed connection across 200 applies', { timeout: 60_000 }, async (t) => {
  const ups = await Promise.all(['u0', 'u1', 'u2', 'u3'].map((n) => startUpstream(n)));
  const port = await freePort();
  const dp = new DataPlane({});
  t.after(() => Promise.all([dp.close(1000), ...ups.map((u) => u.close())]));
  const version = (i: number): IR => {
    // Every version moves routes and endpoints: a different backend, different endpoint sets,
    // an extra route that comes and goes.
    const a = ups[i % 4].port;
    const b = ups[(i + 1) % 4].port;
    const routes = [forward(`load-v${i % 5}`, [{ weight: 1 + (i % 3), backend: `svc/x${i % 2}` }, { weight: 1, backend: 'svc/y' }], prefix('/load'))];
    if (i % 2 === 0) routes.unshift(forward(`extra-${i}`, 'svc/y', prefix('/extra')));
    return ir([bind(port, [listener('gw', routes)])], [backend(`svc/x${i % 2}`, [a, b]), backend('svc/y', [ups[(i + 2) % 4].port])]);
  };
  await dp.apply('v0', version(0));
  const client = new Pool(`http://127.0.0.1:${port}`, { connections: 32, pipelining: 1 });
  t.after(() => client.destroy());
  const counts = watch(client);
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const loop = async (): Promise<void> => {
    while (!stop) {
      try {
        const res = await client.request({ path: '/load', method: 'GET', headersTimeout: 5000, bodyTimeout: 5000 });
        const body = await res.body.text();
        if (res.statusCode === 200 && /^u[0-3]\n$/.test(body)) ok++;
        else failures.push(`${res.statusCode} ${body}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: 32 }, loop);
  try {
    for (let i = 1; i <= 200; i++) {
      const result = await dp.apply(`v${i}`, version(i));
      assert.deepEqual(result.binds, [{ name: `127.0.0.1:${port}` }]);
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal(dp.version, 'v200');
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  assert.deepEqual(failures.slice(0, 5), []);
  assert.ok(ok > 200, `only ${ok} requests completed`);
  assert.equal(counts.connects, 32);
  assert.equal(counts.disconnects, 0);
});

test('an unchanged bind keeps its client connections across apply()', async (t) => {
  const [u0, u1] = await Promise.all([startUpstream('u0'), startUpstream('u1')]);
  const port = await freePort();
  const other = await freePort();
  const dp = new DataPlane({});
  await dp.apply('v1', ir([bind(port, [listener('gw', [forward('r', 'svc/a')])])], [backend('svc/a', [u0.port])]));
  const client = new Pool(`http://127.0.0.1:${port}`, { connections: 4 });
  t.after(() => Promise.all([client.destroy(), dp.close(1000), u0.close(), u1.close()]));
  const counts = watch(client);
  const burst = async (): Promise<string[]> => Promise.all(Array.from({ length: 8 }, async () => {
    const res = await client.request({ path: '/', method: 'GET' });
    return res.body.text();
  }));
  assert.ok((await burst()).every((b) => b === 'u0\n'));
  const opened = counts.connects;
  // New routes, a new backend and a second bind: the first bind's socket and connections stay.
  await dp.apply('v2', ir([
    bind(port, [listener('gw', [forward('r2', 'svc/b', prefix('/')), forward('r', 'svc/a', prefix('/a'))])]),
    bind(other, [listener('gw2', [forward('r', 'svc/a')])]),
  ], [backend('svc/a', [u0.port]), backend('svc/b', [u1.port])]));
  assert.ok((await burst()).every((b) => b === 'u1\n'));
  assert.equal(counts.connects, opened);
  assert.equal(counts.disconnects, 0);
});

test('a removed bind drains: its in-flight request finishes, new connections are refused', async (t) => {
  const fast = await startUpstream('fast');
  const slow = await slowUpstream('slow', 400);
  const [keep, drop] = await Promise.all([freePort(), freePort()]);
  const dp = new DataPlane({});
  t.after(() => Promise.all([dp.close(1000), fast.close(), slow.close()]));
  const keepBind = bind(keep, [listener('gw', [forward('r', 'svc/fast')])]);
  await dp.apply('v1', ir([keepBind, bind(drop, [listener('gw2', [forward('r', 'svc/slow')])])],
    [backend('svc/fast', [fast.port]), backend('svc/slow', [slow.port])]));
  const client = new Pool(`http://127.0.0.1:${drop}`);
  t.after(() => client.destroy());
  const inFlight = client.request({ path: '/', method: 'GET' });
  while (slow.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
  const result = await dp.apply('v2', ir([keepBind], [backend('svc/fast', [fast.port])]));
  assert.deepEqual(result.binds, [{ name: `127.0.0.1:${keep}` }]);
  const res = await inFlight;
  assert.equal(res.statusCode, 200);
  assert.equal(await res.body.text(), 'slow\n');
  // The drained bind answered its last request with Connection: close.
  assert.equal(res.headers.connection, 'close');
  const fresh = new Pool(`http://127.0.0.1:${drop}`);
  t.after(() => fresh.destroy());
  await assert.rejects(fresh.request({ path: '/', method: 'GET' }), /ECONNREFUSED/);
  assert.deepEqual([...dp.boundPorts().keys()], [`127.0.0.1:${keep}`]);
});

test('pools of endpoints the live config no longer uses are closed after their requests finish', async (t) => {
  const slow = await slowUpstream('old', 300);
  const next = await startUpstream('new');
  const port = await freePort();
  const dp = new DataPlane({});
  await dp.apply('v1', ir([bind(port, [listener('gw', [forward('r', 'svc/a')])])], [backend('svc/a', [slow.port])]));
  const client = new Pool(`http://127.0.0.1:${port}`, { connections: 2 });
  t.after(() => Promise.all([client.destroy(), dp.close(1000), slow.close(), next.close()]));
  const inFlight = client.request({ path: '/', method: 'GET' });
  while (slow.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(dp.poolKeys(), [`127.0.0.1:${slow.port}`]);
  await dp.apply('v2', ir([bind(port, [listener('gw', [forward('r', 'svc/a')])])], [backend('svc/a', [next.port])]));
  assert.deepEqual(dp.poolKeys(), [`127.0.0.1:${next.port}`]);
  // New requests go to the new endpoint while the old one finishes its request.
  assert.equal(await (await client.request({ path: '/', method: 'GET' })).body.text(), 'new\n');
  assert.equal(await (await inFlight).body.text(), 'old\n');
  // The old pool closes its upstream connection once idle.
  const deadline = Date.now() + 5000;
  let open = 1;
  while (Date.now() < deadline && (open = await connections(slow)) > 0) await new Promise((r) => setTimeout(r, 20));
  assert.equal(open, 0);
});

test('a bind that cannot listen is reported; the others serve, and a later apply retries it', async (t) => {
  const up = await startUpstream('u');
  const [busyPort, freeOne] = await Promise.all([freePort(), freePort()]);
  const squatter = createServer();
  await new Promise<void>((r) => squatter.listen(busyPort, '127.0.0.1', r));
  const dp = new DataPlane({});
  t.after(() => Promise.all([dp.close(1000), up.close(), new Promise((r) => squatter.close(r))]));
  const config = ir([bind(busyPort, [listener('a', [forward('r', 'svc/u')])]), bind(freeOne, [listener('b', [forward('r', 'svc/u')])])],
    [backend('svc/u', [up.port])]);
  const first = await dp.apply('v1', config);
  const busy = first.binds.find((b) => b.name === `127.0.0.1:${busyPort}`);
  assert.match(busy?.error ?? '', /EADDRINUSE/);
  assert.equal(first.binds.find((b) => b.name === `127.0.0.1:${freeOne}`)?.error, undefined);
  const client = new Pool(`http://127.0.0.1:${freeOne}`);
  t.after(() => client.destroy());
  assert.equal(await (await client.request({ path: '/', method: 'GET' })).body.text(), 'u\n');
  await new Promise<void>((r) => squatter.close(() => r()));
  const second = await dp.apply('v2', config);
  assert.ok(second.binds.every((b) => b.error === undefined), JSON.stringify(second));
  const retried = new Pool(`http://127.0.0.1:${busyPort}`);
  t.after(() => retried.destroy());
  assert.equal(await (await retried.request({ path: '/', method: 'GET' })).body.text(), 'u\n');
});

function connections(up: Upstream): Promise<number> {
  return new Promise((resolve, reject) => up.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
}
