// Consistent hashing: hash keys from requests, stability of ring hash and Maglev under change.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RingHashBalancer, createBalancer, createHashKey, hash32 } from '../src/dataplane/lb/index.ts';
import type { Balancer, HashKeySpec, HashRequest } from '../src/dataplane/lb/index.ts';

function request(rawHeaders: string[] = [], rawQuery = '', remoteAddress = '192.0.2.7'): HashRequest {
  return { rawHeaders, rawQuery, remoteAddress };
}

const HASH_KEYS: { name: string; spec: HashKeySpec; req: HashRequest; want: string | undefined }[] = [
  { name: 'header, any case', spec: { type: 'Header', name: 'X-User' }, req: request(['x-uSeR', 'alice']), want: 'alice' },
  { name: 'header, first of several', spec: { type: 'Header', name: 'x-user' }, req: request(['X-User', 'a', 'X-User', 'b']), want: 'a' },
  { name: 'header absent', spec: { type: 'Header', name: 'x-user' }, req: request(['X-Users', 'a']), want: undefined },
  { name: 'cookie among others', spec: { type: 'Cookie', name: 'sid' }, req: request(['Cookie', 'a=1; sid=abc; b=2']), want: 'abc' },
  { name: 'cookie in a second Cookie header', spec: { type: 'Cookie', name: 'sid' }, req: request(['Cookie', 'a=1', 'cookie', 'sid=xyz']), want: 'xyz' },
  { name: 'cookie quoted', spec: { type: 'Cookie', name: 'sid' }, req: request(['Cookie', 'sid="q v"']), want: 'q v' },
  { name: 'cookie whose name only starts alike', spec: { type: 'Cookie', name: 'sid' }, req: request(['Cookie', 'sidx=1; xsid=2']), want: undefined },
  { name: 'query parameter, form-decoded', spec: { type: 'QueryParameter', name: 'user' }, req: request([], 'a=1&user=bob+x%21'), want: 'bob x!' },
  { name: 'query parameter, first of several', spec: { type: 'QueryParameter', name: 'user' }, req: request([], 'user=1&user=2'), want: '1' },
  { name: 'query parameter without value', spec: { type: 'QueryParameter', name: 'user' }, req: request([], 'x=1&user'), want: '' },
  { name: 'query parameter whose name only starts alike', spec: { type: 'QueryParameter', name: 'user' }, req: request([], 'username=x'), want: undefined },
  { name: 'source IP', spec: { type: 'SourceIP' }, req: request([], '', '2001:db8::1'), want: '2001:db8::1' },
  { name: 'source IP, IPv4 on a dual-stack socket', spec: { type: 'SourceIP' }, req: request([], '', '::ffff:10.1.2.3'), want: '10.1.2.3' },
];

for (const c of HASH_KEYS) {
  test(`hash key: ${c.name}`, () => {
    const key = createHashKey(c.spec);
    assert.equal(key.extract(c.req), c.want);
    assert.equal(key.hash(c.req), c.want === undefined ? undefined : hash32(c.want));
  });
}

test('hash32 is pinned: rings in every worker and every release must agree', () => {
  assert.deepEqual(['', 'a', 'ab', '10.0.0.1:8080_0', 'käse'].map((s) => hash32(s)), [0, 1867108634, 374890698, 503019127, 471617476]);
  assert.notEqual(hash32('a', 1), hash32('a'));
});

const N = 10;
const KEYS = Array.from({ length: 10_000 }, (_, i) => hash32(`user-${i}`));
const ENDPOINTS = Array.from({ length: N + 1 }, (_, i) => ({ key: `10.0.${i >> 8}.${(i & 255) + 1}:8080` }));

function owners(b: Balancer): string[] {
  return KEYS.map((hash) => b.pick({ hash })!.key);
}

for (const policy of ['RingHash', 'Maglev']) {
  // Keys that change owner without having to: none on a ring; a small share with Maglev (the paper).
  const strayTolerance = policy === 'RingHash' ? 0 : 0.01;

  test(`${policy}: the same key goes to the same endpoint, in every instance, whatever the endpoint order`, () => {
    const one = createBalancer(policy);
    one.update(ENDPOINTS.slice(0, N));
    const other = createBalancer(policy);
    other.update(ENDPOINTS.slice(0, N).reverse());
    assert.deepEqual(owners(one), owners(other));
    assert.deepEqual(owners(one), owners(one));
  });

  test(`${policy}: removing one of ${N} endpoints moves about 1/${N} of the keys, and only theirs`, () => {
    const b = createBalancer(policy);
    b.update(ENDPOINTS.slice(0, N));
    const before = owners(b);
    const removed = ENDPOINTS[3].key;
    b.update(ENDPOINTS.slice(0, N).filter((e) => e.key !== removed));
    const after = owners(b);
    const moved = before.filter((k, i) => k !== after[i]).length / KEYS.length;
    assert.ok(Math.abs(moved - 1 / N) <= 0.02, `moved ${moved}`);
    const stayers = before.filter((k) => k !== removed).length;
    const strays = before.filter((k, i) => k !== removed && k !== after[i]).length;
    assert.ok(strays <= strayTolerance * stayers, `${strays} of ${stayers} keys on remaining endpoints moved`);
    assert.ok(!after.includes(removed));
  });

  test(`${policy}: adding an endpoint to ${N} moves about 1/${N + 1} of the keys, to the new one`, () => {
    const b = createBalancer(policy);
    b.update(ENDPOINTS.slice(0, N));
    const before = owners(b);
    b.update(ENDPOINTS);
    const after = owners(b);
    const added = ENDPOINTS[N].key;
    const moved = before.filter((k, i) => k !== after[i]).length / KEYS.length;
    assert.ok(Math.abs(moved - 1 / (N + 1)) <= 0.02, `moved ${moved}`);
    const strays = before.filter((k, i) => k !== after[i] && after[i] !== added).length;
    assert.ok(strays <= strayTolerance * KEYS.length, `${strays} keys moved between old endpoints`);
  });

  test(`${policy}: an endpoint that stops being ready gives up only its keys, and gets them back`, () => {
    const b = createBalancer(policy);
    b.update(ENDPOINTS.slice(0, N));
    const before = owners(b);
    b.update(ENDPOINTS.slice(0, N).map((e, i) => (i === 5 ? { ...e, ready: false, serving: true, terminating: true } : e)));
    assert.ok(!owners(b).includes(ENDPOINTS[5].key));
    b.update(ENDPOINTS.slice(0, N));
    assert.deepEqual(owners(b), before);
  });

  test(`${policy}: doubling one endpoint's weight moves keys only to it`, () => {
    const b = createBalancer(policy);
    b.update(ENDPOINTS.slice(0, N));
    const before = owners(b);
    const heavy = ENDPOINTS[0].key;
    b.update(ENDPOINTS.slice(0, N).map((e, i) => (i === 0 ? { ...e, weight: 2 } : e)));
    const after = owners(b);
    const share = after.filter((k) => k === heavy).length / KEYS.length;
    assert.ok(Math.abs(share - 2 / (N + 1)) <= 0.03, `share ${share}`);
    const strays = before.filter((k, i) => k !== after[i] && after[i] !== heavy).length;
    assert.ok(strays <= strayTolerance * KEYS.length, `${strays} keys moved between other endpoints`);
  });
}

test('Maglev: the table size must be a prime', () => {
  assert.throws(() => createBalancer('Maglev', { tableSize: 65536 }), /must be a prime, got 65536/);
  assert.equal(createBalancer('Maglev', { tableSize: 251 }).policy, 'Maglev');
});

test('RingHash: points per weight grow only to reach the minimum ring size', () => {
  const sizes = [1, 2, 3, 10].map((n) => {
    const b = new RingHashBalancer();
    b.update(ENDPOINTS.slice(0, n));
    return b.ringSize;
  });
  // 256 per endpoint; a lone endpoint is doubled up to 512 (which moves nothing: it owns every key).
  assert.deepEqual(sizes, [512, 512, 768, 2560]);
});
