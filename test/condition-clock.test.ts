import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ObjectStatus } from '../src/api/index.ts';
import { ConditionClock } from '../src/controller/condition-clock.ts';

const route = (accepted: 'True' | 'False'): ObjectStatus => ({
  apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { namespace: 'a', name: 'r' },
  status: { parents: [{ parentRef: { name: 'gw' }, conditions: [{ type: 'Accepted', status: accepted, reason: accepted === 'True' ? 'Accepted' : 'NotAllowedByListeners', message: '' }] }] },
});
const timeOf = (s: ObjectStatus) => (s.status as { parents: { conditions: { lastTransitionTime: string }[] }[] }).parents[0].conditions[0].lastTransitionTime;

test('a condition keeps its time while its status stays, for the same status object or an equal one', () => {
  let now = Date.parse('2030-01-01T00:00:00Z');
  const clock = new ConditionClock(() => new Date(now));
  const accepted = route('True');
  const [first] = clock.stamp([accepted]);
  now += 5000;
  const [again] = clock.stamp([accepted]);
  assert.equal(timeOf(again), '2030-01-01T00:00:00Z');
  assert.equal(again, first, 'the same status object gets the same stamped object');
  const [equal] = clock.stamp([route('True')]);
  assert.equal(timeOf(equal), '2030-01-01T00:00:00Z');
  const [rejected] = clock.stamp([route('False')]);
  assert.equal(timeOf(rejected), '2030-01-01T00:00:05Z');
  now += 5000;
  // The first object again: its condition flipped back, so it is stamped anew.
  const [back] = clock.stamp([accepted]);
  assert.equal(timeOf(back), '2030-01-01T00:00:10Z');
  now += 5000;
  clock.stamp([]);
  const [returned] = clock.stamp([accepted]);
  assert.equal(timeOf(returned), '2030-01-01T00:00:15Z', 'a status that left and came back starts again');
});
