import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keepTransitionTimes, mergeRouteParents, sameStatus } from '../src/providers/kubernetes/status-merge.ts';

const WAYGATE = 'waygate.dev/gateway-controller';
const OTHER = 'example.net/gateway-controller';
const T0 = '2024-01-01T00:00:00Z';
const T1 = '2024-06-01T00:00:00Z';
const context = { controllerName: WAYGATE, namespace: 'team', now: T1 };

function cond(type: string, status: string, reason: string, time: string, message = '') {
  return { type, status, reason, message, observedGeneration: 1, lastTransitionTime: time };
}

function parent(name: string, controllerName: string, conditions: ReturnType<typeof cond>[], extra: Record<string, unknown> = {}) {
  return { parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'team', name, ...extra }, controllerName, conditions };
}

// ---- merge rules (pure) ----

test('merge: a condition whose status stayed keeps the live lastTransitionTime, even when reason and message changed', () => {
  const live = { conditions: [cond('Accepted', 'True', 'Accepted', T0, 'old')] };
  const desired = { conditions: [cond('Accepted', 'True', 'Accepted', T1, 'new message')] };
  assert.deepEqual(keepTransitionTimes(desired, live, context), { conditions: [cond('Accepted', 'True', 'Accepted', T0, 'new message')] });
});

test('merge: a condition whose status changed takes the desired lastTransitionTime', () => {
  const live = { conditions: [cond('Programmed', 'True', 'Programmed', T0)] };
  const desired = { conditions: [cond('Programmed', 'False', 'Invalid', T1)] };
  assert.deepEqual(keepTransitionTimes(desired, live, context), desired);
});

test('merge: listener conditions are matched by listener name, not position', () => {
  const live = { listeners: [{ name: 'b', conditions: [cond('Accepted', 'True', 'Accepted', T0)] }, { name: 'a', conditions: [cond('Accepted', 'False', 'x', T0)] }] };
  const desired = { listeners: [{ name: 'a', conditions: [cond('Accepted', 'True', 'Accepted', T1)] }, { name: 'b', conditions: [cond('Accepted', 'True', 'Accepted', T1)] }] };
  const merged = keepTransitionTimes(desired, live, context) as typeof desired;
  assert.equal(merged.listeners[0].conditions[0].lastTransitionTime, T1, 'a flipped False → True');
  assert.equal(merged.listeners[1].conditions[0].lastTransitionTime, T0, 'b stayed True');
});

test('merge: route parents of other controllers stay untouched and in place; stale Waygate entries go', () => {
  const theirs = parent('their-gw', OTHER, [cond('Accepted', 'False', 'NotAllowedByListeners', T0)]);
  const live = {
    parents: [
      parent('old-gw', WAYGATE, [cond('Accepted', 'True', 'Accepted', T0)]),
      theirs,
      parent('gw', WAYGATE, [cond('Accepted', 'True', 'Accepted', T0)]),
    ],
  };
  const desired = { parents: [parent('gw', WAYGATE, [cond('Accepted', 'True', 'Accepted', T1, 'changed')]), parent('new-gw', WAYGATE, [cond('Accepted', 'True', 'Accepted', T1)])] };
  assert.deepEqual(mergeRouteParents(live, desired, context), {
    parents: [
      theirs,
      parent('gw', WAYGATE, [cond('Accepted', 'True', 'Accepted', T0, 'changed')]),
      parent('new-gw', WAYGATE, [cond('Accepted', 'True', 'Accepted', T1)]),
    ],
  });
});

test('merge: a route with no status and nothing for Waygate stays without status', () => {
  assert.equal(mergeRouteParents(undefined, { parents: [] }, context), undefined);
  const live = { parents: [parent('their-gw', OTHER, [])] };
  assert.ok(sameStatus(mergeRouteParents(live, { parents: [] }, context), live));
});

test('merge: parentRef defaults (group, kind, the route namespace) identify the same parent', () => {
  const live = { parents: [{ parentRef: { name: 'gw' }, controllerName: WAYGATE, conditions: [cond('Accepted', 'True', 'Accepted', T0)] }] };
  const desired = { parents: [parent('gw', WAYGATE, [cond('Accepted', 'True', 'Accepted', T1)])] };
  const merged = mergeRouteParents(live, desired, context) as typeof desired;
  assert.equal(merged.parents.length, 1);
  assert.equal(merged.parents[0].conditions[0].lastTransitionTime, T0);
});

test('merge: a condition without a time is stamped now', () => {
  const desired = { conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }] };
  assert.deepEqual(keepTransitionTimes(desired, undefined, context), { conditions: [{ ...desired.conditions[0], lastTransitionTime: T1 }] });
});
