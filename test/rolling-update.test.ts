// Endpoints under load on real sockets: a rolling update, upstreams that close idle keep-alive
// connections, refused connections. docs/architecture.md, zero-downtime rules 2 to 4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Pool } from 'undici';
import { DataPlane, PROXY_ERROR_CHANNEL, PROXY_RETRY_CHANNEL, type ProxyErrorEvent, type ProxyRetryEvent } from '../src/dataplane/index.ts';
import type { IR, IREndpoint } from '../src/ir/index.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { bind, forward, ir, listener, prefix } from './helpers/ir.ts';

/** Answers `<name>\n` a millisecond later, so that requests are in flight when it drains. */
function podLike(name: string): Promise<Upstream> {
  return startUpstream(name, (req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.end(`${name}\n`), 1));
  });
}

function appConfig(port: number, endpoints: IREndpoint[]): IR {
  return ir([bind(port, [listener('gw', [forward('app', 'svc/app')])])], [{ name: 'svc/app', endpoints }]);
}

function record<T>(channelName: string): { events: T[]; stop(): void } {
  const events: T[] = [];
  const onMessage = (m: unknown): void => void events.push(m as T);
  subscribe(channelName, onMessage);
  return { events, stop: () => unsubscribe(channelName, onMessage) };
}

interface Load {
  ok: number;
  readonly failures: string[];
  readonly byBody: Map<string, number>;
  stop(): Promise<void>;
}

/** `connections` keep-alive clients sending `method` requests one after another, until stopped or `max` were sent. */
function startLoad(port: number, connections: number, max: number, method = 'GET', body?: string): Load {
  const client = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1 });
  let stopped = false;
  let sent = 0;
  const load: Load = { ok: 0, failures: [], byBody: new Map(), stop: async () => {
    stopped = true;
    await Promise.all(loops);
    await client.close();
  } };
  const loop = async (): Promise<void> => {
    while (!stopped && sent < max) {
      sent++;
      try {
        const res = await client.request({ path: '/', method, body, headersTimeout: 10_000, bodyTimeout: 10_000 });
        const text = await res.body.text();
        if (res.statusCode === 200) {
          load.ok++;
          load.byBody.set(text, (load.byBody.get(text) ?? 0) + 1);
        } else load.failures.push(`${res.statusCode} ${text.trim()}`);
      } catch (err) {
        load.failures.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: connections }, loop);
  return load;
}

async function until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('rolling update: 10 backends replaced one at a time under continuous load, zero failed requests', { timeout: 120_000 }, async (t) => {
  const CLIENTS = 16;
  const olds = await Promise.all(Array.from({ length: 10 }, (_, i) => podLike(`old-${i}`)));
  const news: Upstream[] = [];
  const port = await freePort();
  const dp = new DataPlane({});
  t.after(() => Promise.all([dp.close(1000), ...olds.map((u) => u.close()), ...news.map((u) => u.close())]));
  const errors = record<ProxyErrorEvent>(PROXY_ERROR_CHANNEL);
  const retries = record<ProxyRetryEvent>(PROXY_RETRY_CHANNEL);
  t.after(() => { errors.stop(); retries.stop(); });
  // The Service's endpoints, as the EndpointSlice controller would list them.
  const endpoints: IREndpoint[] = olds.map((u) => ({ address: '127.0.0.1', port: u.port }));
  let v = 0;
  const publish = async (): Promise<void> => {
    await dp.apply(`v${++v}`, appConfig(port, endpoints.slice().sort((a, b) => a.port - b.port)));
  };
  await publish();
  const balancer = dp.live!.backends.get('svc/app')!.balancer;
  const load = startLoad(port, CLIENTS, 500_000);
  const afterTerminating: number[] = [];
  const atRemoval: number[] = [];
  try {
    await until('traffic on every old backend', () => olds.every((u) => u.seen.length > 0));
    for (let i = 0; i < olds.length; i++) {
      const old = olds[i];
      const at = endpoints.findIndex((e) => e.port === old.port);
      const replacement = await podLike(`new-${i}`);
      news.push(replacement);
      // Pod deletion: the endpoint turns terminating (serving, not ready) while the pod drains.
      // Every other pod sees SIGTERM before the proxy sees the endpoint change, as happens
      // without a preStop delay: new connections are refused, idle ones closed under reuse.
      const sigtermFirst = i % 2 === 1;
      const drained = sigtermFirst ? old.drain() : undefined;
      if (sigtermFirst) await new Promise((r) => setTimeout(r, 30));
      endpoints[at] = { address: '127.0.0.1', port: old.port, terminating: true };
      await publish();
      const seenAtTerminating = old.seen.length;
      await (drained ?? old.drain());
      afterTerminating.push(old.seen.length - seenAtTerminating);
      // The pod is gone: its endpoint leaves the slice, the replacement joins it ready.
      endpoints[at] = { address: '127.0.0.1', port: replacement.port };
      await publish();
      atRemoval.push(old.seen.length);
      assert.ok(!dp.poolKeys().includes(`127.0.0.1:${old.port}`), `pool of old-${i} released`);
      await until(`traffic on new-${i}`, () => replacement.seen.length >= 20);
    }
    await until('more traffic after the last replacement', () => load.ok > 2000);
  } finally {
    await load.stop();
  }
  assert.deepEqual(load.failures.slice(0, 10), [], `${load.failures.length} failed requests`);
  assert.deepEqual(errors.events.slice(0, 10), []);
  // A terminating endpoint gets no new requests: at most those already in flight reach it.
  for (const n of afterTerminating) assert.ok(n <= CLIENTS, `a terminating endpoint received ${n} requests`);
  assert.deepEqual(olds.map((u) => u.seen.length), atRemoval, 'removed endpoints received nothing after removal');
  for (const u of olds) assert.equal(load.byBody.get(`${u.name}\n`), u.seen.length, `${u.name}: every request it received was answered`);
  for (const u of news) assert.ok(u.seen.length >= 20, `${u.name} received ${u.seen.length} requests`);
  // One balancer for the Service port across all 21 versions; every attempt it started has ended.
  assert.equal(dp.live!.backends.get('svc/app')!.balancer, balancer);
  assert.deepEqual(balancer.endpoints.map((e) => e.inflight), news.map(() => 0));
  t.diagnostic(`${load.ok} requests, ${retries.events.length} retried (${summarize(retries.events)})`);
});

test('ready endpoints take every request; serving terminating ones only when none is ready', async (t) => {
  const [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
  const port = await freePort();
  const dp = new DataPlane({});
  t.after(() => Promise.all([dp.close(1000), a.close(), b.close()]));
  const client = new Pool(`http://127.0.0.1:${port}`);
  t.after(() => client.close());
  const bodies = async (): Promise<string> => {
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add((await (await client.request({ path: '/', method: 'GET' })).body.text()).trim());
    return [...seen].sort().join(',');
  };
  const ep = (u: Upstream, terminating: boolean): IREndpoint => ({ address: '127.0.0.1', port: u.port, ...(terminating ? { terminating } : {}) });
  const sorted = (eps: IREndpoint[]): IREndpoint[] => eps.sort((x, y) => x.port - y.port);
  await dp.apply('v1', appConfig(port, sorted([ep(a, false), ep(b, true)])));
  assert.equal(await bodies(), 'a');
  await dp.apply('v2', appConfig(port, sorted([ep(a, true), ep(b, true)])));
  assert.equal(await bodies(), 'a,b');
  await dp.apply('v3', appConfig(port, sorted([ep(a, true), ep(b, false)])));
  assert.equal(await bodies(), 'b');
  // Ready and terminating at once (a Service with publishNotReadyAddresses): ready wins.
  await dp.apply('v4', appConfig(port, sorted([{ ...ep(a, true), ready: true }, ep(b, true)])));
  assert.equal(await bodies(), 'a');
});

test('an upstream that closes idle keep-alive connections under load causes no failed request', { timeout: 60_000 }, async (t) => {
  // Idle connections are closed every 5 ms, without a Keep-Alive hint: an upstream whose idle
  // timeout is shorter than the proxy's, so reused connections race with their closing.
  const ups = await Promise.all(['a', 'b', 'c', 'd'].map((n) => startUpstream(n)));
  const sweeps = ups.map((u) => {
    u.server.keepAliveTimeout = 0;
    return setInterval(() => u.server.closeIdleConnections(), 5);
  });
  const port = await freePort();
  const dp = new DataPlane({});
  t.after(() => {
    for (const s of sweeps) clearInterval(s);
    return Promise.all([dp.close(1000), ...ups.map((u) => u.close())]);
  });
  const retries = record<ProxyRetryEvent>(PROXY_RETRY_CHANNEL);
  t.after(() => retries.stop());
  await dp.apply('v1', appConfig(port, ups.map((u) => ({ address: '127.0.0.1', port: u.port }))));
  const load = startLoad(port, 16, 3000);
  await until('the load to finish', () => load.ok + load.failures.length >= 3000, 50_000);
  await load.stop();
  assert.deepEqual(load.failures.slice(0, 10), [], `${load.failures.length} failed requests`);
  assert.equal(load.ok, 3000);
  // The races did happen, after the request head was written: the retry rule covered them.
  assert.ok(retries.events.some((e) => e.written), `retries: ${summarize(retries.events)}`);
  t.diagnostic(`${retries.events.length} retried (${summarize(retries.events)})`);
});

test('a refused connection is retried on another endpoint, with or without a body, never on the refused one', async (t) => {
  const echo = await startUpstream('echo', (req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => res.end(`echo ${req.method} ${body}\n`));
  });
  const [refusedA, refusedB, port] = await Promise.all([freePort(), freePort(), freePort()]);
  const dp = new DataPlane({});
  t.after(() => Promise.all([dp.close(1000), echo.close()]));
  const retries = record<ProxyRetryEvent>(PROXY_RETRY_CHANNEL);
  t.after(() => retries.stop());
  const ep = (p: number): IREndpoint => ({ address: '127.0.0.1', port: p });
  await dp.apply('v1', ir([bind(port, [listener('gw', [
    forward('all-refused', 'svc/refused', prefix('/refused')),
    forward('echo', 'svc/echo'),
  ])])], [
    { name: 'svc/echo', endpoints: [ep(refusedA), ep(refusedB), ep(echo.port)].sort((x, y) => x.port - y.port) },
    { name: 'svc/refused', endpoints: [ep(refusedA), ep(refusedB)].sort((x, y) => x.port - y.port) },
  ]));
  const client = new Pool(`http://127.0.0.1:${port}`);
  t.after(() => client.close());
  const send = async (method: string, path: string, body?: string): Promise<string> => {
    const res = await client.request({ path, method, body });
    return `${res.statusCode} ${await res.body.text()}`;
  };
  for (let i = 0; i < 6; i++) {
    assert.equal(await send('GET', '/'), '200 echo GET \n');
    assert.equal(await send('POST', '/', `order ${i}`), `200 echo POST order ${i}\n`);
    assert.equal(await send('PUT', '/', 'x'.repeat(70_000)), `200 echo PUT ${'x'.repeat(70_000)}\n`);
  }
  const refused = retries.events.filter((e) => e.route === 'echo');
  assert.ok(refused.length >= 6, `retries: ${summarize(refused)}`);
  assert.ok(refused.every((e) => e.code === 'ECONNREFUSED' && !e.written), summarize(refused));
  // Every endpoint is tried at most once: with both refused, the request fails after two attempts.
  retries.events.length = 0;
  assert.equal(await send('POST', '/refused', 'x'), '502 upstream connect error or reset\n');
  assert.equal(retries.events.length, 1);
  assert.equal(retries.events[0].attempt, 2);
});

test('a connection reset after the request was written is retried only for idempotent methods', async (t) => {
  // Reads the request, then drops the connection without answering: the request may have done
  // its work, so only a method that may be repeated is sent again.
  const crasher = await startUpstream('crasher', (req) => {
    req.resume();
    req.on('end', () => req.socket.destroy());
  });
  const echo = await startUpstream('echo');
  const port = await freePort();
  const dp = new DataPlane({});
  t.after(() => Promise.all([dp.close(1000), crasher.close(), echo.close()]));
  const retries = record<ProxyRetryEvent>(PROXY_RETRY_CHANNEL);
  t.after(() => retries.stop());
  await dp.apply('v1', appConfig(port, [crasher, echo].map((u) => ({ address: '127.0.0.1', port: u.port })).sort((x, y) => x.port - y.port)));
  const client = new Pool(`http://127.0.0.1:${port}`);
  t.after(() => client.close());
  const statuses = async (method: string): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await client.request({ path: '/', method, body: method === 'POST' ? 'pay' : undefined });
      await res.body.text();
      out.push(res.statusCode);
    }
    return out.sort();
  };
  assert.deepEqual(await statuses('GET'), [200, 200, 200, 200]);
  assert.ok(retries.events.length >= 2 && retries.events.every((e) => e.written), summarize(retries.events));
  assert.deepEqual(await statuses('DELETE'), [200, 200, 200, 200]);
  // Round robin sends every other POST to the crasher first: those fail, each sent once.
  const postsBefore = crasher.seen.filter((r) => r.method === 'POST').length;
  assert.deepEqual(await statuses('POST'), [200, 200, 502, 502]);
  assert.equal(crasher.seen.filter((r) => r.method === 'POST').length - postsBefore, 2);
});

function summarize(events: readonly ProxyRetryEvent[]): string {
  const counts = new Map<string, number>();
  for (const e of events) {
    const key = `${e.code}${e.written ? ' after write' : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
}
