import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../src/api/index.ts';
import { Store, snapshotHash } from '../src/resources/index.ts';

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
