// DNS backends (ExternalName) in the proxy, on real sockets: a real UDP DNS server, upstreams on
// 127.0.0.2 and 127.0.0.3, an answer that changes under continuous load, failed resolutions.
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool, request } from 'undici';
import { DataPlane } from '../src/dataplane/index.ts';
import { systemResolve, type ResolveFn } from '../src/dataplane/dns/resolver.ts';
import type { IR } from '../src/ir/index.ts';
import { bind, forward, ir, listener } from './helpers/ir.ts';
import { dnsServer, type DnsAnswer } from './helpers/dns-server.ts';
import { freePort } from './helpers/ports.ts';

function resolverFor(port: number): ResolveFn {
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  return systemResolve(resolver);
}

interface Upstreams {
  readonly port: number;
  /** Address → Host headers of the requests it received. */
  readonly hosts: Map<string, string[]>;
  close(): Promise<void>;
}

/** One server on 127.0.0.2 and one on 127.0.0.3, on the same port; each answers its address a millisecond later. */
async function startUpstreams(): Promise<Upstreams> {
  const hosts = new Map<string, string[]>([['127.0.0.2', []], ['127.0.0.3', []]]);
  const make = (address: string): Server => createServer((req, res) => {
    hosts.get(address)!.push(req.headers.host ?? '');
    req.resume();
    req.on('end', () => setTimeout(() => res.end(address), 1));
  });
  const listen = (server: Server, address: string, port: number): Promise<number> => new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve((server.address() as AddressInfo).port));
  });
  for (let tries = 0; ; tries++) {
    const a = make('127.0.0.2');
    const b = make('127.0.0.3');
    const port = await listen(a, '127.0.0.2', 0);
    try {
      await listen(b, '127.0.0.3', port);
    } catch (err) {
      a.close();
      if (tries < 20) continue;
      throw err;
    }
    const stop = (s: Server): Promise<void> => new Promise((resolve) => { s.close(() => resolve()); s.closeAllConnections(); });
    return { port, hosts, close: async () => { await Promise.all([stop(a), stop(b)]); } };
  }
}

function config(port: number, hostname: string, upstreamPort: number, timeoutMs?: number): IR {
  return ir(
    [bind(port, [listener('gw', [forward('ext', 'svc/ext', {}, timeoutMs === undefined ? undefined : { requestMs: timeoutMs })])])],
    [{ name: 'svc/ext', endpoints: [], dns: { hostname, port: upstreamPort } }],
  );
}

async function get(port: number): Promise<{ status: number; body: string }> {
  const res = await request(`http://127.0.0.1:${port}/`, { headers: { host: 'app.example.com' } });
  return { status: res.statusCode, body: await res.body.text() };
}

async function until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

async function setup(t: TestContext, answer: () => DnsAnswer, hostname = 'svc.test') {
  const dns = await dnsServer('svc.test', answer);
  const upstreams = await startUpstreams();
  const dp = new DataPlane({ resolve: resolverFor(dns.port) });
  const port = await freePort();
  await dp.apply('v1', config(port, hostname, upstreams.port));
  t.after(async () => {
    await dp.close(1000);
    await upstreams.close();
    dns.close();
  });
  return { dns, upstreams, dp, port };
}

test('every A record is an endpoint, balanced round robin; a changed answer is followed after its TTL with zero failed requests', { timeout: 30_000 }, async (t) => {
  let answer: DnsAnswer = { addresses: ['127.0.0.2', '127.0.0.3'], ttl: 1 };
  const { upstreams, dp, port } = await setup(t, () => answer);
  assert.deepEqual(dp.dnsKeys(), [`svc.test:${upstreams.port}`]);

  // The first request waits for the first answer.
  const counts = new Map<string, number>();
  for (let i = 0; i < 20; i++) {
    const r = await get(port);
    assert.equal(r.status, 200, r.body);
    counts.set(r.body, (counts.get(r.body) ?? 0) + 1);
  }
  assert.deepEqual([...counts].sort(), [['127.0.0.2', 10], ['127.0.0.3', 10]]);
  assert.deepEqual(upstreams.hosts.get('127.0.0.2')![0], 'app.example.com', 'the Host header stays the client\'s');
  assert.deepEqual(dp.poolKeys(), [`127.0.0.2:${upstreams.port}`, `127.0.0.3:${upstreams.port}`]);

  // Continuous load while the answer changes to 127.0.0.3 alone.
  const client = new Pool(`http://127.0.0.1:${port}`, { connections: 8, pipelining: 1 });
  const failures: string[] = [];
  const byBody = new Map<string, number>();
  let stopped = false;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const res = await client.request({ path: '/', method: 'GET', headers: { host: 'app.example.com' } });
        const text = await res.body.text();
        if (res.statusCode === 200) byBody.set(text, (byBody.get(text) ?? 0) + 1);
        else failures.push(`${res.statusCode} ${text}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: 8 }, loop);
  await until('load', () => (byBody.get('127.0.0.2') ?? 0) > 50);
  answer = { addresses: ['127.0.0.3'], ttl: 1 };
  const changed = Date.now();
  await until('the pool of 127.0.0.2 released', () => !dp.poolKeys().includes(`127.0.0.2:${upstreams.port}`), 5000);
  assert.ok(Date.now() - changed <= 2500, `followed after the TTL (${Date.now() - changed} ms)`);
  // Requests in flight on 127.0.0.2 when it left the answer finish there; later ones go to 127.0.0.3.
  const released = byBody.get('127.0.0.3') ?? 0;
  await until('in-flight requests to finish', () => (byBody.get('127.0.0.3') ?? 0) > released + 50);
  const before = byBody.get('127.0.0.2') ?? 0;
  const after3 = byBody.get('127.0.0.3') ?? 0;
  await until('more load', () => (byBody.get('127.0.0.3') ?? 0) > after3 + 200);
  stopped = true;
  await Promise.all(loops);
  await client.close();
  assert.deepEqual(failures, []);
  assert.equal(byBody.get('127.0.0.2') ?? 0, before, 'nothing reaches the address that left the answer');
  assert.deepEqual(dp.poolKeys(), [`127.0.0.3:${upstreams.port}`]);

  // A config without the backend stops its watch and releases its pools.
  await dp.apply('v2', ir([bind(port, [listener('gw', [])])], []));
  assert.deepEqual(dp.dnsKeys(), []);
  assert.deepEqual(dp.poolKeys(), []);
});

test('resolution failed and nothing known: 503; the backend follows once the name resolves', { timeout: 20_000 }, async (t) => {
  let answer: DnsAnswer = { addresses: [], ttl: 1, fail: true };
  const { dns, port } = await setup(t, () => answer);
  const r = await get(port);
  assert.equal(r.status, 503);
  assert.ok(dns.queries >= 1);
  answer = { addresses: ['127.0.0.3'], ttl: 1 };
  // Retried after 1 s on failure.
  let last = r;
  for (let i = 0; i < 60 && last.status !== 200; i++) {
    await sleep(100);
    last = await get(port);
  }
  assert.deepEqual(last, { status: 200, body: '127.0.0.3' });
});

test('a failure after a good answer keeps serving the last good answer', { timeout: 20_000 }, async (t) => {
  let answer: DnsAnswer = { addresses: ['127.0.0.2'], ttl: 1 };
  const { dns, port } = await setup(t, () => answer);
  assert.deepEqual(await get(port), { status: 200, body: '127.0.0.2' });
  answer = { addresses: [], ttl: 1, fail: true };
  const queries = dns.queries;
  await until('failed resolutions', () => dns.queries >= queries + 4, 5000);
  for (let i = 0; i < 10; i++) assert.deepEqual(await get(port), { status: 200, body: '127.0.0.2' });
});

test('a request before the first answer waits for it, bounded by the route timeout', { timeout: 20_000 }, async (t) => {
  const upstreams = await startUpstreams();
  let slow = 200;
  const dp = new DataPlane({ resolve: async () => { await sleep(slow); return [{ address: '127.0.0.2', ttl: 60 }]; } });
  const port = await freePort();
  t.after(async () => {
    await dp.close(1000);
    await upstreams.close();
  });
  await dp.apply('v1', config(port, 'slow.test', upstreams.port));
  assert.deepEqual(await get(port), { status: 200, body: '127.0.0.2' });

  slow = 2000;
  await dp.apply('v2', config(port, 'slower.test', upstreams.port, 300));
  const started = Date.now();
  assert.equal((await get(port)).status, 503);
  assert.ok(Date.now() - started < 1500, 'bounded by the route timeout');
  assert.deepEqual(dp.dnsKeys(), [`slower.test:${upstreams.port}`]);
});
