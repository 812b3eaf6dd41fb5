import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../src/api/index.ts';
import { Store, snapshotHash, snapshotOf } from '../src/resources/index.ts';

const service = (namespace: string, name: string, port = 80) =>
  ({ apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec: { ports: [{ port }] } }) as KubeObject;
const names = (objects: readonly KubeObject[]) => objects.map((o) => `${o.metadata.namespace}/${o.metadata.name}`);

test('the union of sources is sorted, and the first source to report an object keeps it', () => {
  const store = new Store();
  store.replace('a', [service('b', 'x', 1), service('a', 'y', 1), service('a', 'y', 2)]);
  store.replace('b', [service('a', 'x'), service('b', 'x', 3)]);
  const snapshot = store.snapshot();
  assert.deepEqual(names(snapshot.services), ['a/x', 'a/y', 'b/x']);
  const ports = snapshot.services.map((s) => (s as { spec?: { ports?: { port: number }[] } }).spec?.ports?.[0].port);
  assert.deepEqual(ports, [80, 1, 1]);
  store.remove('a');
  assert.deepEqual(names(store.snapshot().services), ['a/x', 'b/x']);
});

test('a snapshot hash changes with any object and stays for equal content', () => {
  const store = new Store();
  const objects = [service('a', 'x'), service('a', 'y')];
  store.replace('file', objects);
  const first = snapshotHash(store.snapshot());
  store.replace('file', [service('a', 'x'), service('a', 'y')]);
  assert.equal(snapshotHash(store.snapshot()), first, 'equal objects, new identities');
  store.replace('file', [service('a', 'x'), service('a', 'y', 81)]);
  const changed = snapshotHash(store.snapshot());
  assert.notEqual(changed, first, 'a changed object is a new object with a new hash');
  store.replace('file', objects);
  assert.equal(snapshotHash(store.snapshot()), first, 'back to the first objects');
  store.replace('other', [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'a', name: 'c' } }]);
  assert.notEqual(snapshotHash(store.snapshot()), first, 'another source adds an object');
});

/** The union as the store defines it, computed from scratch. */
function reference(sources: readonly (readonly KubeObject[])[]) {
  const seen = new Set<string>();
  const all: KubeObject[] = [];
  for (const objects of sources) {
    for (const obj of objects) {
      const key = `${obj.apiVersion.split('/')[0]}|${obj.kind}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      all.push(obj);
    }
  }
  return snapshotOf(all);
}

test('after any series of replacements the snapshot is the sorted union, as if built from scratch', () => {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pool: KubeObject[] = [];
  for (let i = 0; i < 300; i++) {
    const namespace = `ns-${Math.floor(rand() * 4)}`;
    const name = `obj-${Math.floor(rand() * 60)}`;
    const kind = rand() < 0.5 ? service(namespace, name, i) : { apiVersion: rand() < 0.9 ? 'v1' : 'v2', kind: 'ConfigMap', metadata: { namespace, name }, data: { i: String(i) } } as KubeObject;
    pool.push(kind);
  }
  const store = new Store();
  const sources: KubeObject[][] = [[], []];
  const order: number[] = [];
  for (let step = 0; step < 600; step++) {
    const s = rand() < 0.8 ? 0 : 1;
    const next = [...sources[s]];
    const edits = rand() < 0.1 ? 30 : 1 + Math.floor(rand() * 3);
    for (let e = 0; e < edits; e++) {
      const candidate = pool[Math.floor(rand() * pool.length)];
      if (next.length > 100 || (next.length > 0 && rand() < 0.4)) next.splice(Math.floor(rand() * next.length), 1);
      // Now and then the same object twice; otherwise objects are distinct (some share a key).
      else if (rand() < 0.02 || !next.includes(candidate)) next.splice(Math.floor(rand() * (next.length + 1)), 0, candidate);
    }
    sources[s] = next;
    if (!order.includes(s)) order.push(s);
    store.replace(`source-${s}`, next);
    assert.deepEqual(store.snapshot(), reference(order.map((i) => sources[i])), `step ${step}`);
  }
});
