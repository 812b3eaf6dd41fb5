import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../src/api/index.ts';
import { Controller, Holdoff } from '../src/controller/index.ts';
import type { IR } from '../src/ir/index.ts';
import { silentLogger } from '../src/observability/index.ts';
import { Store } from '../src/resources/index.ts';
import { AckTracker } from '../src/supervisor/index.ts';
import { loadManifests } from '../src/providers/index.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class RecordingPublisher {
  published: { version: string; ir: IR }[] = [];
  publish(version: string, ir: IR) {
    this.published.push({ version, ir });
  }
}

async function quickstart(): Promise<KubeObject[]> {
  const { objects, errors } = await loadManifests(['examples/quickstart']);
  assert.deepEqual(errors, []);
  return objects;
}

function setup(holdoffMs = 20, maxDelayMs = 100) {
  const store = new Store();
  const publisher = new RecordingPublisher();
  const controller = new Controller({
    store, publisher, logger: silentLogger(), holdoffMs, maxDelayMs,
    translate: { controllerName: 'waygate.dev/gateway-controller', listenAddress: '127.0.0.1' },
  });
  return { store, publisher, controller };
}

function gatewayCondition(controller: Controller, type: string) {
  const gw = controller.statuses().find((s) => s.kind === 'Gateway');
  return (gw?.status as { conditions: { type: string; status: string; reason: string; lastTransitionTime: string }[] }).conditions.find((c) => c.type === type);
}

test('a burst of changes is translated once after the holdoff', async () => {
  const { store, publisher, controller } = setup(30, 1000);
  const objects = await quickstart();
  controller.start();
  const before = controller.builds;
  for (let i = 0; i < 50; i++) store.replace('file', objects.slice(0, 1 + (i % objects.length)));
  store.replace('file', objects);
  await sleep(120);
  assert.equal(controller.builds - before, 1);
  assert.equal(publisher.published.length, 2, 'the empty start and the final state');
  controller.stop();
});

test('a steady stream of changes cannot starve a rebuild (maximum delay)', async () => {
  const { store, controller } = setup(50, 150);
  const objects = await quickstart();
  controller.start();
  const before = controller.builds;
  const end = performance.now() + 600;
  let i = 0;
  while (performance.now() < end) {
    store.replace('file', objects.slice(0, 1 + (i++ % objects.length)));
    await sleep(10);
  }
  assert.ok(controller.builds - before >= 2, `rebuilt ${controller.builds - before} times during 600 ms of changes`);
  controller.stop();
});

test('an unchanged snapshot is not translated and an unchanged IR is not published', async () => {
  const { store, publisher, controller } = setup();
  const objects = await quickstart();
  store.replace('file', objects);
  controller.start();
  assert.equal(publisher.published.length, 1);
  const builds = controller.builds;
  store.replace('file', [...objects]);
  controller.rebuild();
  assert.equal(controller.builds, builds, 'equal snapshot: no translation');
  const unrelated = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'unrelated', namespace: 'default' }, data: { a: 'b' } };
  store.replace('file', [...objects, unrelated]);
  controller.rebuild();
  assert.equal(controller.builds, builds + 1, 'a new object is translated');
  assert.equal(publisher.published.length, 1, 'but the IR did not change, so nothing is published');
  controller.stop();
});

test('Programmed is held back until every worker acks; its transition time then stays put', async () => {
  const { store, publisher, controller } = setup();
  store.replace('file', await quickstart());
  const tracker = new AckTracker();
  tracker.addWorker('w0');
  tracker.addWorker('w1');
  controller.updateFleet(tracker.fleet());
  controller.start();
  const { version } = publisher.published[0];
  tracker.published(version);
  controller.updateFleet(tracker.fleet());
  assert.equal(gatewayCondition(controller, 'Programmed')?.reason, 'Pending');
  assert.equal(controller.ready().ready, false);

  tracker.ack('w0', version);
  controller.updateFleet(tracker.fleet());
  assert.equal(gatewayCondition(controller, 'Programmed')?.status, 'False', 'one of two workers is not enough');

  tracker.ack('w1', version);
  controller.updateFleet(tracker.fleet());
  const programmed = gatewayCondition(controller, 'Programmed');
  assert.equal(programmed?.status, 'True');
  assert.equal(controller.ready().ready, true);
  await sleep(1100);
  assert.equal(gatewayCondition(controller, 'Programmed')?.lastTransitionTime, programmed?.lastTransitionTime);
  controller.stop();
});

test('a listener whose socket cannot be bound is reported PortUnavailable', async () => {
  const { store, publisher, controller } = setup();
  store.replace('file', await quickstart());
  controller.start();
  const { version, ir } = publisher.published[0];
  const tracker = new AckTracker();
  tracker.addWorker('w0');
  tracker.published(version);
  tracker.ack('w0', version, [{ name: ir.binds[0].name, error: 'listen EADDRINUSE: address already in use' }]);
  controller.updateFleet(tracker.fleet());
  const gw = controller.statuses().find((s) => s.kind === 'Gateway')!;
  const listener = (gw.status as { listeners: { conditions: { type: string; status: string; reason: string }[] }[] }).listeners[0];
  const accepted = listener.conditions.find((c) => c.type === 'Accepted');
  assert.equal(accepted?.status, 'False');
  assert.equal(accepted?.reason, 'PortUnavailable');
  controller.stop();
});

test('Holdoff runs a lone change at once, without waiting for the quiet period', async () => {
  let runs = 0;
  const h = new Holdoff(() => runs++, 1000, 5000);
  h.trigger();
  await sleep(50);
  assert.equal(runs, 1, 'a change after a quiet period does not wait the 1000 ms holdoff');
  h.cancel();
});

test('Holdoff coalesces the changes that follow a run into one more run', async () => {
  let runs = 0;
  const h = new Holdoff(() => runs++, 100, 5000);
  h.trigger();
  await sleep(20);
  assert.equal(runs, 1);
  for (let i = 0; i < 5; i++) {
    h.trigger();
    await sleep(5);
  }
  assert.equal(runs, 1, 'changes within the holdoff of a run wait for quiet');
  await sleep(250);
  assert.equal(runs, 2);
  h.cancel();
});

test('Holdoff runs once per burst', async () => {
  let runs = 0;
  const h = new Holdoff(() => runs++, 20, 200);
  for (let i = 0; i < 10; i++) h.trigger();
  await sleep(60);
  assert.equal(runs, 1);
  h.cancel();
});

test('a result listener that comes after the first translation hears the last one at once', async () => {
  const { store, controller } = setup();
  store.replace('file', await quickstart());
  controller.start();
  const heard: number[] = [];
  controller.onResult((result) => heard.push(result.ir.binds.length));
  assert.deepEqual(heard, [1], 'the current translation, without waiting for a change');
  controller.stop();
});

test('status sinks hear of each change of status once, and of nothing else', async () => {
  const { store, publisher, controller } = setup();
  const objects = await quickstart();
  store.replace('file', objects);
  const tracker = new AckTracker();
  tracker.addWorker('w0');
  controller.updateFleet(tracker.fleet());
  controller.start();
  const heard: string[] = [];
  controller.onStatuses((statuses) => {
    const gw = statuses.find((s) => s.kind === 'Gateway')!;
    const programmed = (gw.status as { conditions: { type: string; reason: string }[] }).conditions.find((c) => c.type === 'Programmed');
    heard.push(programmed!.reason);
  });
  assert.deepEqual(heard, ['Pending'], 'a new sink hears the current statuses at once');
  const { version } = publisher.published[0];
  tracker.published(version);
  controller.updateFleet(tracker.fleet());
  tracker.ack('w0', version);
  controller.updateFleet(tracker.fleet());
  controller.updateFleet(tracker.fleet());
  assert.deepEqual(heard, ['Pending', 'Programmed'], 'repeated fleet reports with no change are not announced');

  // A route whose hostname matches no listener changes no IR, only statuses: sinks still hear of it.
  const stray = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { namespace: 'default', name: 'stray' }, spec: { parentRefs: [{ name: 'quickstart', sectionName: 'no-such-listener' }] } } as KubeObject;
  store.replace('file', [...objects, stray]);
  await sleep(150);
  assert.equal(publisher.published.length, 1, 'the IR did not change');
  assert.equal(heard.length, 3);
  controller.stop();
});

test('a condition keeps its transition time when the entries around it move (route parents, policy ancestors)', async () => {
  const { ConditionClock } = await import('../src/controller/condition-clock.ts');
  let now = new Date('2026-01-01T00:00:00Z');
  const clock = new ConditionClock(() => now);
  const accepted = (status: string) => ({ type: 'Accepted', status, reason: status === 'True' ? 'Accepted' : 'Conflicted', message: '' });
  const policy = (ancestors: { name: string; status: string }[]) => [{
    apiVersion: 'waygate.dev/v1alpha1', kind: 'BackendTrafficPolicy', metadata: { namespace: 'default', name: 'p' },
    status: { ancestors: ancestors.map((a) => ({ ancestorRef: { group: '', kind: 'Service', name: a.name }, controllerName: 'waygate.dev/gateway-controller', conditions: [accepted(a.status)] })) },
  }];
  const timeOf = (out: ReturnType<typeof clock.stamp>, name: string) =>
    (out[0].status as { ancestors: { ancestorRef: { name: string }; conditions: { lastTransitionTime: string }[] }[] }).ancestors.find((a) => a.ancestorRef.name === name)!.conditions[0].lastTransitionTime;
  const first = clock.stamp(policy([{ name: 'web', status: 'True' }]));
  now = new Date('2026-01-01T00:05:00Z');
  // A new ancestor sorts first: web's condition did not change, so neither does its time.
  const second = clock.stamp(policy([{ name: 'api', status: 'False' }, { name: 'web', status: 'True' }]));
  assert.equal(timeOf(second, 'web'), timeOf(first, 'web'));
  assert.equal(timeOf(second, 'api'), '2026-01-01T00:05:00Z');
});
