// Objects read from files get what the API server would give them: a generation bumped on spec
// changes only, and a creationTimestamp fixed when first seen.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../src/api/index.ts';
import { ObjectIdentity } from '../src/providers/file/object-identity.ts';

function route(name: string, path: string, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace: 'default', labels }, spec: { rules: [{ matches: [{ path: { value: path } }] }] } } as KubeObject;
}

test('generation follows spec changes, creation time stays, unchanged objects keep their stamped copy', () => {
  let clock = 0;
  const identity = new ObjectIdentity(() => new Date(Date.UTC(2026, 0, 1, 0, 0, clock++)));
  const a1 = route('a', '/one');
  const b1 = route('b', '/b');
  const [sa1, sb1] = identity.stamp([a1, b1]);
  assert.equal(sa1.metadata.generation, 1);
  assert.equal(sb1.metadata.generation, 1);
  const created = sa1.metadata.creationTimestamp;

  const [again] = identity.stamp([a1, b1]);
  assert.equal(again, sa1, 'the same object read again is the same stamped copy');

  const [relabelled] = identity.stamp([route('a', '/one', { team: 'x' }), b1]);
  assert.equal(relabelled.metadata.generation, 1, 'a metadata change is not a spec change');
  const [changed, sameB] = identity.stamp([route('a', '/two'), b1]);
  assert.equal(changed.metadata.generation, 2);
  assert.equal(changed.metadata.creationTimestamp, created);
  assert.equal(sameB, sb1);

  identity.stamp([b1]);
  const [back] = identity.stamp([route('a', '/two'), b1]);
  assert.equal(back.metadata.generation, 1, 'an object that went away is new when it comes back');
  assert.notEqual(back.metadata.creationTimestamp, created);
  const [old] = identity.stamp([a1, b1]);
  assert.equal(old.metadata.generation, 2, 'the old object read again is a spec change from the one before');
});
