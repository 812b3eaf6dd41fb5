// DNS backends: DnsWatch against an injected fake, and against a real UDP DNS server over the wire.
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DnsWatch, systemResolve, type DnsRecord } from '../src/dataplane/dns/resolver.ts';
import { dnsServer } from './helpers/dns-server.ts';

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

test('DnsWatch: re-resolves at TTL expiry (clamped to the minimum) and reports changes', async () => {
  let answer: DnsRecord[] = [{ address: '127.0.0.2', ttl: 0 }];
  let calls = 0;
  const seen: string[] = [];
  const watch = new DnsWatch('svc.test', (a) => seen.push(a.join(',')), {
    resolve: async () => { calls++; return answer; }, minTtlMs: 20,
  });
  await watch.first;
  assert.deepEqual(watch.addresses, ['127.0.0.2']);
  answer = [{ address: '127.0.0.3', ttl: 0 }, { address: '127.0.0.2', ttl: 5 }];
  await until(() => watch.addresses.length === 2);
  assert.deepEqual(seen, ['127.0.0.2', '127.0.0.2,127.0.0.3']);
  const before = calls;
  await sleep(100);
  assert.ok(calls - before >= 2 && calls - before <= 6, `calls ${calls - before}`);
  assert.equal(seen.length, 2, 'an unchanged answer is not reported');
  watch.close();
});

test('DnsWatch: a failure keeps the last good answer and retries with backoff', async () => {
  let fail = false;
  const times: number[] = [];
  const watch = new DnsWatch('svc.test', () => {}, {
    resolve: async () => {
      times.push(Date.now());
      if (fail) throw Object.assign(new Error('SERVFAIL'), { code: 'ESERVFAIL' });
      return [{ address: '127.0.0.2', ttl: 0 }];
    },
    minTtlMs: 10, retryMs: 10, maxTtlMs: 1000,
  });
  await watch.first;
  fail = true;
  await until(() => watch.error !== undefined);
  const from = times.length;
  await sleep(200);
  assert.deepEqual(watch.addresses, ['127.0.0.2']);
  const gaps = times.slice(from).map((t, i, a) => (i === 0 ? 0 : t - a[i - 1])).slice(1);
  assert.ok(gaps.length >= 2 && gaps.length <= 5, `retries ${gaps.length}`);
  for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i] >= gaps[i - 1] * 1.5, `gaps ${gaps}`);
  watch.close();
});

test('DnsWatch: nothing known and resolution failed: no addresses, the error kept', async () => {
  const watch = new DnsWatch('nx.test', () => {}, { resolve: async () => { throw new Error('ENOTFOUND'); } });
  await watch.first;
  assert.equal(watch.settled, true);
  assert.deepEqual(watch.addresses, []);
  assert.ok(watch.error instanceof Error);
  watch.close();
});

test('DnsWatch over a real DNS server: the TTL is read from the wire and a changed answer is followed after it', async () => {
  let current = { addresses: ['127.0.0.2'], ttl: 1 };
  const server = await dnsServer('backend.waygate.test', () => current);
  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${server.port}`]);
  const resolve = systemResolve(resolver);
  assert.deepEqual(await resolve('backend.waygate.test'), [{ address: '127.0.0.2', ttl: 1 }]);
  const watch = new DnsWatch('backend.waygate.test', () => {}, { resolve, minTtlMs: 100 });
  await watch.first;
  assert.deepEqual(watch.addresses, ['127.0.0.2']);
  const changed = Date.now();
  current = { addresses: ['127.0.0.3', '127.0.0.2'], ttl: 1 };
  await until(() => watch.addresses.length === 2, 3000);
  assert.deepEqual(watch.addresses, ['127.0.0.2', '127.0.0.3']);
  assert.ok(Date.now() - changed <= 1500, 'followed within the TTL');
  await assert.rejects(resolve('other.waygate.test'));
  watch.close();
  server.close();
});
