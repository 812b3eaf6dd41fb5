// The Gateway Service reconciler against a real list/watch API server: it creates, updates in
// place and garbage-collects the Services the translator wants, keeps what the cluster owns,
// writes only when something changed, and only while leader.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import type { Gateway, KubeObject, Service } from '../src/api/index.ts';
import { silentLogger } from '../src/observability/index.ts';
import { GatewayServiceReconciler } from '../src/providers/index.ts';
import { snapshotOf } from '../src/resources/index.ts';
import { translate, type TranslateOptions } from '../src/translator/index.ts';
import { startKubeApiServer, type KubeApiServer, type KubeJson } from './helpers/kube-apiserver.ts';

const NS = 'waygate-system';
const OPTIONS: TranslateOptions = {
  controllerName: 'waygate.dev/gateway-controller',
  listenAddress: '0.0.0.0',
  deployment: { kind: 'kubernetes', namespace: NS, proxySelector: { 'app.kubernetes.io/name': 'waygate' }, serviceType: 'LoadBalancer' },
};
const CLASS = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'waygate' }, spec: { controllerName: OPTIONS.controllerName } } as KubeObject;

let server: KubeApiServer;
let kubeConfig: KubeConfig;
let leader = true;
const reconcilers: GatewayServiceReconciler[] = [];

before(async () => {
  server = await startKubeApiServer({ namespaces: ['default', NS] });
  kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(server.kubeconfigPath);
});
after(async () => {
  for (const r of reconcilers) await r.stop();
  await server.stop();
});
beforeEach(() => {
  leader = true;
  for (const svc of server.list('v1', 'Service', NS)) server.remove(svc as KubeObject);
});

function reconciler(): GatewayServiceReconciler {
  const r = new GatewayServiceReconciler({ kubeConfig, logger: silentLogger(), namespace: NS, isLeader: () => leader, retryDelayMs: 50 });
  reconcilers.push(r);
  return r;
}

function gateway(name: string, ports: number[] = [80], extra: Partial<Gateway['spec']> = {}, namespace = 'default'): Gateway {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway',
    metadata: { name, namespace, creationTimestamp: '2024-01-01T00:00:00Z', uid: `uid-${name}` },
    spec: { gatewayClassName: 'waygate', listeners: ports.map((port) => ({ name: `p${port}`, port, protocol: 'HTTP' })), ...extra },
  };
}

/** The Services the cluster has now, as the informers would see them. */
function observed(): Service[] {
  return server.list('v1', 'Service') as unknown as Service[];
}

/** One controller round: translate what the cluster holds, hand the result to the reconciler. */
async function round(r: GatewayServiceReconciler, gateways: readonly Gateway[]): Promise<void> {
  const { services } = translate(snapshotOf([CLASS, ...gateways, ...(observed() as KubeObject[])]), OPTIONS);
  r.update(services ?? [], observed());
  await r.settled();
}

function writes(): number {
  return server.requests.filter((q) => q.resource === 'services' && ['create', 'update', 'patch', 'delete'].includes(q.verb)).length;
}

function serviceOf(name: string): KubeJson {
  const svc = observed().find((s) => s.metadata.annotations?.['waygate.dev/gateway'] === `default/${name}`);
  assert.ok(svc, `no Service for Gateway ${name}`);
  return server.get({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: NS, name: svc.metadata.name } });
}

test('creates the Service a Gateway wants, then writes nothing while nothing changes', async () => {
  const r = reconciler();
  await round(r, [gateway('eg')]);
  const svc = serviceOf('eg');
  assert.equal(svc.spec.type, 'LoadBalancer');
  assert.deepEqual(svc.spec.selector, { 'app.kubernetes.io/name': 'waygate' });
  assert.equal(svc.spec.ports.length, 1);
  assert.equal(svc.spec.ports[0].port, 80);
  assert.equal(svc.metadata.labels['gateway.networking.k8s.io/gateway-name'], 'eg');
  const before = writes();
  const requests = server.requests.length;
  await round(r, [gateway('eg')]);
  await round(r, [gateway('eg')]);
  assert.equal(writes(), before, 'no write when nothing changed');
  assert.equal(server.requests.length, requests, 'not even a read when the observed Services match');
  assert.equal(r.stats().creates, 1);
});

test('updates in place, keeping the cluster IP, node ports, health check port and load balancer address', async () => {
  const r = reconciler();
  await round(r, [gateway('eg', [80], { infrastructure: { labels: { team: 'a' } } })]);
  const created = serviceOf('eg');
  // What the cluster adds: node ports, a health check port, the load balancer's address.
  server.update({ ...created, spec: { ...created.spec, externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, ports: created.spec.ports.map((p: KubeJson) => ({ ...p, nodePort: 31080 })) } });
  server.updateStatus({ ...serviceOf('eg'), status: { loadBalancer: { ingress: [{ ip: '203.0.113.7' }] } } });
  const before = serviceOf('eg');

  await round(r, [gateway('eg', [80, 8080], { infrastructure: { labels: { team: 'b' } } })]);
  const after = serviceOf('eg');
  assert.equal(after.metadata.uid, before.metadata.uid, 'the same Service, not a new one');
  assert.equal(after.spec.clusterIP, before.spec.clusterIP);
  assert.equal(after.spec.healthCheckNodePort, 32000);
  assert.equal(after.spec.externalTrafficPolicy, 'Local', 'a field Waygate does not set is kept');
  assert.deepEqual(after.status.loadBalancer.ingress, [{ ip: '203.0.113.7' }]);
  assert.deepEqual(after.spec.ports.map((p: KubeJson) => [p.port, p.nodePort]), [[80, 31080], [8080, undefined]]);
  assert.equal(after.spec.ports[0].targetPort, before.spec.ports[0].targetPort, 'the container port of port 80 did not move');
  assert.equal(after.metadata.labels.team, 'b');
  assert.equal(r.stats().updates, 1);
  assert.equal(r.stats().deletes, 0);
});

test('removes a label it set and no longer wants, but keeps labels and annotations others set', async () => {
  const r = reconciler();
  await round(r, [gateway('eg', [80], { infrastructure: { labels: { team: 'a' }, annotations: { 'example.com/note': 'x' } } })]);
  const svc = serviceOf('eg');
  server.update({ ...svc, metadata: { ...svc.metadata, labels: { ...svc.metadata.labels, 'cloud.example.com/pool': 'p1' }, annotations: { ...svc.metadata.annotations, 'metallb.universe.tf/ip-allocated-from-pool': 'p1' } } });
  await round(r, [gateway('eg')]);
  const after = serviceOf('eg');
  assert.equal(after.metadata.labels.team, undefined);
  assert.equal(after.metadata.annotations['example.com/note'], undefined);
  assert.equal(after.metadata.labels['cloud.example.com/pool'], 'p1');
  assert.equal(after.metadata.annotations['metallb.universe.tf/ip-allocated-from-pool'], 'p1');
  assert.equal(after.metadata.labels['app.kubernetes.io/managed-by'], 'waygate');
});

test('changing the type to ClusterIP drops what a ClusterIP Service may not have', async () => {
  const r = reconciler();
  await round(r, [gateway('eg')]);
  const svc = serviceOf('eg');
  server.update({ ...svc, spec: { ...svc.spec, externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, ports: svc.spec.ports.map((p: KubeJson) => ({ ...p, nodePort: 31080 })) } });
  const gw = gateway('eg');
  const internal = { ...gw, metadata: { ...gw.metadata, annotations: { 'waygate.dev/service-type': 'ClusterIP' } } };
  await round(r, [internal]);
  const after = serviceOf('eg');
  assert.equal(after.spec.type, 'ClusterIP');
  assert.equal(after.spec.ports[0].nodePort, undefined);
  assert.equal(after.spec.externalTrafficPolicy, undefined);
  assert.equal(after.spec.healthCheckNodePort, undefined);
  assert.equal(after.metadata.uid, svc.metadata.uid);
});

test('deletes the Service of a Gateway that is gone, and never touches Services it did not make', async () => {
  const r = reconciler();
  await round(r, [gateway('a'), gateway('b')]);
  const mine = serviceOf('b').metadata.name;
  server.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'someone-else', namespace: NS, labels: { 'app.kubernetes.io/managed-by': 'waygate' } }, spec: { ports: [{ port: 9 }] } });
  await round(r, [gateway('a')]);
  const names = observed().filter((s) => s.metadata.namespace === NS).map((s) => s.metadata.name);
  assert.ok(!names.includes(mine), 'the Service of the deleted Gateway is gone');
  assert.ok(names.includes('someone-else'), 'a Service without the Gateway annotation is not Waygate\'s to delete');
  assert.equal(r.stats().deletes, 1);
});

test('a Service of the generated name that is not Waygate\'s is left alone', async () => {
  const r = reconciler();
  const { services } = translate(snapshotOf([CLASS, gateway('eg')]), OPTIONS);
  const name = services![0].metadata.name;
  server.create({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: NS, labels: { app: 'mine' } }, spec: { selector: { app: 'mine' }, ports: [{ port: 80, targetPort: 12345 }] } });
  const before = writes();
  await round(r, [gateway('eg')]);
  r.resync();
  await r.settled();
  assert.equal(writes(), before);
  const svc = server.get({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: NS, name } });
  assert.deepEqual(svc.spec.selector, { app: 'mine' });
});

test('a replica that is not the leader never writes; it catches up when it becomes leader', async () => {
  const r = reconciler();
  leader = false;
  const before = writes();
  await round(r, [gateway('eg')]);
  assert.equal(writes(), before);
  assert.equal(observed().filter((s) => s.metadata.namespace === NS).length, 0);
  leader = true;
  r.resync();
  await r.settled();
  assert.ok(serviceOf('eg'));
});

test('a Service deleted by hand is recreated on the next round', async () => {
  const r = reconciler();
  await round(r, [gateway('eg')]);
  server.remove(serviceOf('eg') as KubeObject);
  await round(r, [gateway('eg')]);
  assert.ok(serviceOf('eg'));
  assert.equal(r.stats().creates, 2);
});

test('a stale informer view costs one list, not a write or a conflict', async () => {
  const r = reconciler();
  const stale = observed();
  const { services } = translate(snapshotOf([CLASS, gateway('eg')]), OPTIONS);
  r.update(services!, stale);
  await r.settled();
  const before = writes();
  r.update(services!, stale); // the informer has not seen the created Service yet
  await r.settled();
  assert.equal(writes(), before);
  assert.equal(r.stats().conflicts, 0);
});

test('retries after the API server was unreachable', async () => {
  const r = reconciler();
  await server.down();
  const { services } = translate(snapshotOf([CLASS, gateway('eg')]), OPTIONS);
  r.update(services!, []);
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.ok(r.stats().errors >= 1);
  await server.up();
  await r.settled();
  assert.ok(serviceOf('eg'));
});
