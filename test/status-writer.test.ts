import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';
import type { KubeObject, ObjectStatus } from '../src/api/index.ts';
import { Controller } from '../src/controller/index.ts';
import { silentLogger } from '../src/observability/index.ts';
import { LeaderElector, StatusWriter, type StatusWriterOptions } from '../src/providers/index.ts';
import { keepTransitionTimes, mergePolicyAncestors, mergeRouteParents, sameStatus } from '../src/providers/kubernetes/status-merge.ts';
import { Store } from '../src/resources/index.ts';
import { startKubeApiServer, type KubeApiServer, type KubeJson } from './helpers/kube-apiserver.ts';

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

test('merge: policy ancestors are a map by ancestorRef and controllerName; other controllers\' entries stay in place', () => {
  const ancestor = (name: string, controllerName: string, conditions: ReturnType<typeof cond>[]) => ({ ancestorRef: { group: '', kind: 'Service', namespace: 'team', name }, controllerName, conditions });
  const theirs = ancestor('web', OTHER, [cond('Accepted', 'True', 'Accepted', T0)]);
  const live = { ancestors: [ancestor('gone', WAYGATE, [cond('Accepted', 'True', 'Accepted', T0)]), theirs, ancestor('web', WAYGATE, [cond('Accepted', 'True', 'Accepted', T0)])] };
  const desired = { ancestors: [ancestor('web', WAYGATE, [cond('Accepted', 'True', 'Accepted', T1, 'changed')]), ancestor('api', WAYGATE, [cond('Accepted', 'False', 'TargetNotFound', T1)])] };
  assert.deepEqual(mergePolicyAncestors(live, desired, context), {
    ancestors: [theirs, ancestor('web', WAYGATE, [cond('Accepted', 'True', 'Accepted', T0, 'changed')]), ancestor('api', WAYGATE, [cond('Accepted', 'False', 'TargetNotFound', T1)])],
  });
});

test('merge: a condition without a time is stamped now', () => {
  const desired = { conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }] };
  assert.deepEqual(keepTransitionTimes(desired, undefined, context), { conditions: [{ ...desired.conditions[0], lastTransitionTime: T1 }] });
});

// ---- against the test API server ----

const GROUP_VERSION = 'gateway.networking.k8s.io/v1';
const T2 = '2025-01-01T00:00:00Z';

/** A KubeConfig that lets a test act just before a request leaves (to provoke a conflict). */
class HookedKubeConfig extends KubeConfig {
  beforeRequest: ((method: string, url: string) => void) | undefined;
  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    this.beforeRequest?.(context.getHttpMethod(), context.getUrl());
    return super.applySecurityAuthentication(context);
  }
}

async function cluster(t: TestContext) {
  const server = await startKubeApiServer();
  const kubeConfig = new HookedKubeConfig();
  kubeConfig.loadFromFile(server.kubeconfigPath);
  const writers: StatusWriter[] = [];
  const writer = (extra: Partial<StatusWriterOptions> = {}) => {
    const w = new StatusWriter({ kubeConfig, logger: silentLogger(), controllerName: WAYGATE, isLeader: () => true, ...extra });
    writers.push(w);
    return w;
  };
  t.after(async () => {
    await Promise.all(writers.map((w) => w.stop()));
    await server.stop();
  });
  return { server, kubeConfig, writer };
}

function gatewayClass(): KubeJson {
  return { apiVersion: GROUP_VERSION, kind: 'GatewayClass', metadata: { name: 'waygate' }, spec: { controllerName: WAYGATE } };
}

function gateway(): KubeJson {
  return {
    apiVersion: GROUP_VERSION, kind: 'Gateway', metadata: { namespace: 'default', name: 'gw' },
    spec: { gatewayClassName: 'waygate', listeners: [{ name: 'http', protocol: 'HTTP', port: 8080, allowedRoutes: { namespaces: { from: 'Same' } } }] },
  };
}

function httpRoute(name: string): KubeJson {
  return {
    apiVersion: GROUP_VERSION, kind: 'HTTPRoute', metadata: { namespace: 'default', name },
    spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] },
  };
}

function statusOf(obj: KubeJson, status: unknown): ObjectStatus {
  const { namespace, name } = obj.metadata;
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { namespace, name, generation: 1 }, status };
}

/** What the controller would compute for the class, the gateway and the routes, stamped `time`. */
function computed(routes: string[], time: string, message = 'The route is accepted'): ObjectStatus[] {
  return [
    statusOf(gatewayClass(), { conditions: [cond('Accepted', 'True', 'Accepted', time)] }),
    statusOf(gateway(), {
      conditions: [cond('Accepted', 'True', 'Accepted', time), cond('Programmed', 'True', 'Programmed', time)],
      listeners: [{ name: 'http', supportedKinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }], attachedRoutes: routes.length, conditions: [cond('Accepted', 'True', 'Accepted', time)] }],
    }),
    ...routes.map((r) => statusOf(httpRoute(r), { parents: [ourParent('gw', time, message)] })),
  ];
}

function ourParent(gw: string, time: string, message = 'The route is accepted') {
  return { ...parent(gw, WAYGATE, [cond('Accepted', 'True', 'Accepted', time, message)]), parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'default', name: gw } };
}

function theirParent() {
  return { parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'default', name: 'their-gw' }, controllerName: OTHER, conditions: [cond('Accepted', 'False', 'NotAllowedByListeners', T0, 'theirs')] };
}

function seed(server: KubeApiServer, routes: string[]): void {
  server.create(gatewayClass());
  server.create(gateway());
  for (const r of routes) server.create(httpRoute(r));
}

function live(server: KubeApiServer, obj: KubeJson): KubeJson {
  return server.get(obj as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } });
}

/** Status writes answered since request number `from`, with their HTTP status. */
function statusWrites(server: KubeApiServer, from = 0) {
  return server.requests.slice(from).filter((r) => r.verb === 'update' && r.subresource === 'status');
}

test('writes each status once, then only the one that changed, then nothing for unchanged statuses', async (t) => {
  const { server, writer } = await cluster(t);
  seed(server, ['a', 'b']);
  const w = writer();
  w.start();
  w.update(computed(['a', 'b'], T0));
  await w.settled();
  assert.equal(statusWrites(server).filter((r) => r.status === 200).length, 4);
  assert.deepEqual(live(server, httpRoute('a')).status, { parents: [ourParent('gw', T0)] });
  assert.equal(live(server, gateway()).status.listeners[0].attachedRoutes, 2);

  let mark = server.requests.length;
  const changed = computed(['a', 'b'], T0);
  changed[3] = statusOf(httpRoute('b'), { parents: [ourParent('gw', T0, 'now with a new message')] });
  w.update(changed);
  await w.settled();
  assert.deepEqual(statusWrites(server, mark).map((r) => r.path), ['/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes/b/status']);

  mark = server.requests.length;
  w.update(changed);
  w.update(structuredClone(changed));
  await w.settled();
  assert.equal(server.requests.length, mark, 'no read and no write for statuses that did not change');
  assert.deepEqual(Object.fromEntries(w.stats().writesByObject), {
    'GatewayClass//waygate': 1, 'Gateway/default/gw': 1, 'HTTPRoute/default/a': 1, 'HTTPRoute/default/b': 2,
  });
});

test('a 409 Conflict is re-read and re-merged, keeping what the other writer wrote meanwhile', async (t) => {
  const { server, kubeConfig, writer } = await cluster(t);
  seed(server, ['a']);
  let raced = false;
  kubeConfig.beforeRequest = (method, url) => {
    if (raced || method !== 'PUT' || !url.includes('/httproutes/a/status')) return;
    raced = true; // another controller writes its entry between our read and our write
    server.updateStatus({ ...httpRoute('a'), status: { parents: [theirParent()] } });
  };
  const w = writer();
  w.start();
  w.update(computed(['a'], T0));
  await w.settled();
  assert.ok(raced);
  const writes = statusWrites(server).filter((r) => r.path.endsWith('/httproutes/a/status')).map((r) => r.status);
  assert.deepEqual(writes, [409, 200]);
  assert.equal(w.stats().conflicts, 1);
  assert.deepEqual(live(server, httpRoute('a')).status, { parents: [theirParent(), ourParent('gw', T0)] });
});

test("other controllers' route parent entries survive; Waygate's entries for parents it lost are removed", async (t) => {
  const { server, writer } = await cluster(t);
  seed(server, ['a']);
  server.updateStatus({ ...httpRoute('a'), status: { parents: [ourParent('old-gw', T0), theirParent()] } });
  const w = writer();
  w.start();
  w.update(computed(['a'], T1));
  await w.settled();
  assert.deepEqual(live(server, httpRoute('a')).status, { parents: [theirParent(), ourParent('gw', T1)] });

  // The route no longer attaches to any Waygate Gateway: Waygate computes no status for it.
  w.update(computed([], T1));
  await w.settled();
  assert.deepEqual(live(server, httpRoute('a')).status, { parents: [theirParent()] });
});

test('lastTransitionTime is kept when only the reason or message changed, and moves when the status does', async (t) => {
  const { server, writer } = await cluster(t);
  seed(server, []);
  const w = writer();
  w.start();
  const gw = (c: ReturnType<typeof cond>) => [statusOf(gateway(), { conditions: [c], listeners: [] })];
  w.update(gw(cond('Programmed', 'True', 'Programmed', T0, 'first')));
  await w.settled();
  w.update(gw(cond('Programmed', 'True', 'SomeOtherReason', T1, 'second')));
  await w.settled();
  assert.deepEqual(live(server, gateway()).status.conditions, [cond('Programmed', 'True', 'SomeOtherReason', T0, 'second')]);
  w.update(gw(cond('Programmed', 'False', 'Invalid', T2, 'third')));
  await w.settled();
  assert.deepEqual(live(server, gateway()).status.conditions, [cond('Programmed', 'False', 'Invalid', T2, 'third')]);
});

test('a new leader whose controller stamped fresh times writes nothing when the statuses are otherwise equal', async (t) => {
  const { server, writer } = await cluster(t);
  seed(server, ['a', 'b']);
  const first = writer();
  first.start();
  first.update(computed(['a', 'b'], T0));
  await first.settled();
  await first.stop();

  const mark = server.requests.length;
  const second = writer();
  second.start();
  second.update(computed(['a', 'b'], T1)); // same conditions, times stamped by the new replica
  second.reconcileAll();
  await second.settled();
  assert.equal(statusWrites(server, mark).length, 0);
  assert.ok(second.stats().reads >= 4, 'each object was read and compared once');
  assert.equal(live(server, httpRoute('a')).status.parents[0].conditions[0].lastTransitionTime, T0);
});

test('a burst of updates for one object is coalesced: the latest wins', async (t) => {
  const { server, writer } = await cluster(t);
  seed(server, []);
  const w = writer();
  w.start();
  for (let i = 0; i < 50; i++) w.update([statusOf(gateway(), { conditions: [cond('Accepted', 'True', 'Accepted', T0, `update ${i}`)], listeners: [] })]);
  await w.settled();
  assert.ok(statusWrites(server).length <= 2, `${statusWrites(server).length} writes for 50 updates`);
  assert.equal(live(server, gateway()).status.conditions[0].message, 'update 49');
});

test('objects that no longer exist are skipped, not retried', async (t) => {
  const { server, writer } = await cluster(t);
  seed(server, []);
  const w = writer({ retryDelayMs: 10 });
  w.start();
  w.update(computed(['ghost'], T0));
  await w.settled();
  const stats = w.stats();
  assert.equal(stats.notFound, 1);
  assert.equal(stats.errors, 0);
  assert.equal(stats.writes, 2, 'the class and the gateway');
  const mark = server.requests.length;
  await sleep(100);
  assert.equal(server.requests.length, mark);
});

test('on becoming leader, Waygate entries left on routes Waygate no longer computes are removed', async (t) => {
  const { server, writer } = await cluster(t);
  seed(server, ['orphan']);
  server.updateStatus({ ...httpRoute('orphan'), status: { parents: [ourParent('gw', T0), theirParent()] } });
  const w = writer();
  w.start();
  w.update(computed([], T0));
  w.reconcileAll();
  await w.settled();
  assert.deepEqual(live(server, httpRoute('orphan')).status, { parents: [theirParent()] });
});

test("the search for left-over entries stays within this instance's namespace and label selector", async (t) => {
  const { server, writer } = await cluster(t);
  seed(server, []);
  const labelled = { ...httpRoute('mine'), metadata: { namespace: 'default', name: 'mine', labels: { instance: 'a' } } };
  server.create(labelled);
  server.create(httpRoute('not-mine'));
  for (const r of [labelled, httpRoute('not-mine')]) server.updateStatus({ ...r, status: { parents: [ourParent('gw', T0)] } });
  const w = writer({ namespace: 'default', labelSelector: 'instance=a' });
  w.start();
  w.update(computed([], T0));
  w.reconcileAll();
  await w.settled();
  assert.deepEqual(live(server, labelled).status, { parents: [] });
  assert.deepEqual(live(server, httpRoute('not-mine')).status, { parents: [ourParent('gw', T0)] }, 'another instance may own it');
});

test('only the leader writes; after a hand-over the new leader reconciles once and writes nothing', async (t) => {
  const { server, kubeConfig, writer } = await cluster(t);
  seed(server, ['a', 'b']);
  const timing = { leaseDurationMs: 2000, renewDeadlineMs: 1000, retryPeriodMs: 100 };
  const replicas = ['replica-a', 'replica-b'].map((identity) => {
    const elector = new LeaderElector({ kubeConfig, logger: silentLogger(), namespace: 'default', name: 'status-leader', identity, ...timing });
    const w = writer({ isLeader: () => elector.isLeader() });
    elector.onStartedLeading(() => w.reconcileAll());
    return { elector, writer: w };
  });
  t.after(() => Promise.all(replicas.map((r) => r.elector.stop())));
  for (const r of replicas) {
    r.writer.start();
    r.writer.update(computed(['a', 'b'], T0));
    r.elector.start();
  }
  const end = performance.now() + 3000;
  while (!replicas.some((r) => r.elector.isLeader()) && performance.now() < end) await sleep(10);
  const leader = replicas.find((r) => r.elector.isLeader())!;
  const follower = replicas.find((r) => r !== leader)!;
  assert.ok(leader, 'a leader was elected');
  await leader.writer.settled();
  assert.equal(leader.writer.stats().writes, 4);
  assert.equal(follower.writer.stats().writes, 0);
  assert.equal(follower.writer.stats().reads, 0, 'a follower does not even read');

  // Both replicas' controllers move on; only the leader writes the change.
  for (const r of replicas) r.writer.update(computed(['a', 'b'], T1, 'changed'));
  await leader.writer.settled();
  assert.equal(leader.writer.stats().writes, 6);
  assert.equal(follower.writer.stats().writes, 0);

  const mark = server.requests.length;
  await leader.writer.stop();
  await leader.elector.stop();
  while (!follower.elector.isLeader() && performance.now() < end + 3000) await sleep(10);
  assert.ok(follower.elector.isLeader(), 'the follower took over');
  await sleep(50);
  await follower.writer.settled();
  assert.equal(statusWrites(server, mark).length, 0, 'everything was current');
  assert.ok(follower.writer.stats().reads >= 4);
});

test('100 routes applied through the controller: each status written at most 3 times; idle means no requests', async (t) => {
  const { server, writer } = await cluster(t);
  const names = Array.from({ length: 100 }, (_, i) => `route-${String(i).padStart(3, '0')}`);
  seed(server, names);
  const store = new Store();
  const controller = new Controller({
    store, logger: silentLogger(), holdoffMs: 30, maxDelayMs: 300,
    publisher: { publish() {} },
    translate: { controllerName: WAYGATE, listenAddress: '127.0.0.1' },
  });
  const w = writer();
  controller.onStatuses((statuses) => w.update(statuses));
  const objects: KubeObject[] = [gatewayClass(), gateway()] as KubeObject[];
  store.replace('cluster', objects);
  controller.start();
  w.start();
  for (const name of names) {
    // Routes arrive one by one, as watch events do.
    objects.push(httpRoute(name) as KubeObject);
    store.replace('cluster', [...objects]);
    await sleep(1);
  }
  const end = performance.now() + 10_000;
  const done = () => names.every((n) => live(server, httpRoute(n)).status?.parents?.length === 1)
    && live(server, gateway()).status?.listeners?.[0]?.attachedRoutes === 100;
  while (!done() && performance.now() < end) await sleep(20);
  assert.ok(done(), 'every route and the gateway carry their final status');
  await w.settled();

  const perObject = new Map<string, number>();
  for (const r of statusWrites(server)) perObject.set(r.path, (perObject.get(r.path) ?? 0) + 1);
  assert.equal(perObject.size, 102);
  const worst = Math.max(...perObject.values());
  t.diagnostic(`${statusWrites(server).length} status writes for 102 objects, at most ${worst} for one object, ${controller.builds} builds`);
  assert.ok(worst <= 3, `an object's status was written ${worst} times`);
  assert.ok(statusWrites(server).every((r) => r.status === 200));

  const mark = server.requests.length;
  await sleep(2000);
  assert.equal(server.requests.length, mark, 'an idle cluster causes no requests at all');
  controller.stop();
});
