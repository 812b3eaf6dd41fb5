// The test API server must behave like kube-apiserver, checked with the real client-node.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ApiException, ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, Watch, makeInformer, setHeaderOptions,
  type KubernetesObject, type V1ConfigMap,
} from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer, type KubeJson } from './helpers/kube-apiserver.ts';

const GW = { group: 'gateway.networking.k8s.io', version: 'v1' };
const route = (name: string, namespace = 'default', labels: Record<string, string> = {}) => ({
  apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace, labels },
  spec: { parentRefs: [{ name: 'gw' }], hostnames: ['a.example.com'] },
});
const configMap = (name: string, data: Record<string, string> = { k: 'v' }, labels: Record<string, string> = {}) => ({
  apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', labels }, data,
});

async function rejects(p: Promise<unknown>): Promise<{ code: number; body: KubeJson }> {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiException)) throw err;
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    return { code: err.code, body };
  }
  throw new Error('expected the request to fail');
}

async function raw(server: KubeApiServer, path: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(server.url + path, { ...init, headers: { authorization: `Bearer ${server.token}`, ...(init.headers ?? {}) } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Collect watch events until `until` says stop, with the real client's Watch. */
function collect(kc: KubeConfig, path: string, query: Record<string, string | number | boolean>, until: (events: { type: string; object: any }[]) => boolean) {
  const events: { type: string; object: any }[] = [];
  let controller: AbortController | undefined;
  const done = new Promise<{ type: string; object: any }[]>((resolve, reject) => {
    new Watch(kc).watch(path, query, (type, object) => {
      events.push({ type, object });
      if (until(events)) {
        controller?.abort();
        resolve(events);
      }
    }, (err) => (err && err.name !== 'AbortError' ? reject(err) : resolve(events))).then((c) => {
      controller = c;
      if (until(events)) c.abort();
    }, reject);
  });
  return { events, done, stop: () => controller?.abort() };
}

describe('test Kubernetes API server', () => {
  let server: KubeApiServer;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;

  before(async () => {
    server = await startKubeApiServer({ bookmarkIntervalMs: 50 });
    kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
    core = kc.makeApiClient(CoreV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
  });
  after(() => server.stop());

  test('discovery lists what is served, and an uninstalled CRD answers 404 NotFound like the real server', async () => {
    const groups = await raw(server, '/apis');
    assert.equal(groups.body.kind, 'APIGroupList');
    const gw = groups.body.groups.find((g: KubeJson) => g.name === GW.group);
    assert.deepEqual(gw.versions.map((v: KubeJson) => v.version), ['v1', 'v1beta1', 'v1alpha2']);
    const v1 = await raw(server, '/api/v1');
    assert.ok(v1.body.resources.some((r: KubeJson) => r.name === 'services/status'));
    const alpha = await raw(server, '/apis/gateway.networking.k8s.io/v1alpha2');
    assert.deepEqual(alpha.body.resources.map((r: KubeJson) => r.name).filter((n: string) => !n.includes('/')), ['tlsroutes', 'tcproutes', 'udproutes']);

    server.uninstall('tlsroutes.gateway.networking.k8s.io');
    const err = await rejects(custom.listNamespacedCustomObject({ group: GW.group, version: 'v1alpha2', namespace: 'default', plural: 'tlsroutes' }));
    assert.equal(err.code, 404);
    assert.equal(err.body.kind, 'Status');
    assert.equal(err.body.reason, 'NotFound');
    assert.equal(err.body.message, 'the server could not find the requested resource');
    const after = await raw(server, '/apis/gateway.networking.k8s.io/v1alpha2');
    assert.ok(!after.body.resources.some((r: KubeJson) => r.name === 'tlsroutes'));
    server.install('tlsroutes.gateway.networking.k8s.io');
    const list = await custom.listNamespacedCustomObject({ group: GW.group, version: 'v1alpha2', namespace: 'default', plural: 'tlsroutes' });
    assert.equal(list.kind, 'TLSRouteList');
    assert.equal((await raw(server, '/apis/example.com/v1/namespaces/default/widgets')).status, 404);
  });

  test('each served custom resource has its established CRD with the release annotations; uninstall and install delete and create it', async () => {
    const crds = kc.makeApiClient(ApiextensionsV1Api);
    const all = await crds.listCustomResourceDefinition();
    assert.ok(all.items.some((c) => c.metadata?.name === 'backendtrafficpolicies.waygate.dev'));
    const byName = await crds.listCustomResourceDefinition({ fieldSelector: 'metadata.name=httproutes.gateway.networking.k8s.io' });
    assert.deepEqual(byName.items.map((c) => c.metadata?.name), ['httproutes.gateway.networking.k8s.io']);
    const httproutes = byName.items[0];
    assert.deepEqual(httproutes.metadata?.annotations, { 'gateway.networking.k8s.io/bundle-version': 'v1.6.1', 'gateway.networking.k8s.io/channel': 'standard' });
    assert.equal(httproutes.spec.group, GW.group);
    assert.equal(httproutes.spec.scope, 'Namespaced');
    assert.deepEqual(httproutes.spec.versions.map((v) => [v.name, v.served, v.storage]), [['v1', true, true], ['v1beta1', true, false]]);
    assert.equal(httproutes.status?.conditions?.find((c) => c.type === 'Established')?.status, 'True');
    assert.equal(all.items.find((c) => c.metadata?.name === 'backendtrafficpolicies.waygate.dev')?.metadata?.annotations, undefined, 'only Gateway API CRDs carry its annotations');

    const path = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
    const w = collect(kc, path, { fieldSelector: 'metadata.name=udproutes.gateway.networking.k8s.io', resourceVersion: all.metadata!.resourceVersion! }, (ev) => ev.length >= 3);
    await new Promise((r) => setTimeout(r, 50));
    server.uninstall('udproutes.gateway.networking.k8s.io');
    server.install('udproutes.gateway.networking.k8s.io');
    const events = await w.done;
    // Created, then established by the apiextensions controllers (a status write).
    assert.deepEqual(events.map((e) => e.type), ['DELETED', 'ADDED', 'MODIFIED']);
    assert.ok(events.every((e) => e.object.metadata.name === 'udproutes.gateway.networking.k8s.io'));
    assert.equal(events[2].object.status.conditions.find((c: KubeJson) => c.type === 'Established').status, 'True');

    const bare = await startKubeApiServer({ gatewayApiRelease: null });
    try {
      const crd = bare.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'gateways.gateway.networking.k8s.io' } });
      assert.equal(crd.metadata.annotations, undefined, 'gatewayApiRelease: null installs CRDs without the annotations');
    } finally {
      await bare.stop();
    }
  });

  test('requests without the bearer token are refused with 401', async () => {
    const res = await fetch(`${server.url}/api/v1/namespaces`);
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as KubeJson).reason, 'Unauthorized');
  });

  test('objects carry server-set metadata; built-in list items lack kind and apiVersion, custom resources keep them', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: configMap('meta') as V1ConfigMap });
    assert.ok(cm.metadata?.uid && cm.metadata.resourceVersion && cm.metadata.creationTimestamp);
    assert.equal(cm.metadata.generation, 1);
    assert.ok(cm.metadata.managedFields?.length);
    const rawList = await raw(server, '/api/v1/namespaces/default/configmaps');
    assert.equal(rawList.body.kind, 'ConfigMapList');
    assert.equal(rawList.body.items[0].kind, undefined);
    assert.equal(rawList.body.items[0].apiVersion, undefined);
    server.create(route('meta'));
    const routes = await raw(server, '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes');
    assert.equal(routes.body.items[0].kind, 'HTTPRoute');
    const beta = await raw(server, '/apis/gateway.networking.k8s.io/v1beta1/namespaces/default/httproutes/meta');
    assert.equal(beta.body.apiVersion, 'gateway.networking.k8s.io/v1beta1');
    server.remove(route('meta'));
    await core.deleteNamespacedConfigMap({ name: 'meta', namespace: 'default' });
  });

  test('create conflicts, stale updates conflict, and custom resources need a resourceVersion to update', async () => {
    const created = await custom.createNamespacedCustomObject({ ...GW, namespace: 'default', plural: 'httproutes', body: route('conflict') });
    const again = await rejects(custom.createNamespacedCustomObject({ ...GW, namespace: 'default', plural: 'httproutes', body: route('conflict') }));
    assert.equal(again.code, 409);
    assert.equal(again.body.reason, 'AlreadyExists');
    const next = { ...created, spec: { ...created.spec, hostnames: ['b.example.com'] } };
    await custom.replaceNamespacedCustomObject({ ...GW, namespace: 'default', plural: 'httproutes', name: 'conflict', body: next });
    const stale = await rejects(custom.replaceNamespacedCustomObject({ ...GW, namespace: 'default', plural: 'httproutes', name: 'conflict', body: next }));
    assert.equal(stale.code, 409);
    assert.equal(stale.body.reason, 'Conflict');
    const { resourceVersion: _rv, ...meta } = created.metadata;
    const unconditional = await rejects(custom.replaceNamespacedCustomObject({ ...GW, namespace: 'default', plural: 'httproutes', name: 'conflict', body: { ...next, metadata: meta } }));
    assert.equal(unconditional.code, 422);
    // Built-in kinds accept an update without resourceVersion.
    await core.createNamespacedConfigMap({ namespace: 'default', body: configMap('unconditional') as V1ConfigMap });
    const replaced = await core.replaceNamespacedConfigMap({ name: 'unconditional', namespace: 'default', body: configMap('unconditional', { k: 'w' }) as V1ConfigMap });
    assert.equal(replaced.data?.k, 'w');
  });

  test('invalid requests get 400/404/422 with a Status body', async () => {
    const noName = await rejects(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: {}, data: {} } }));
    assert.equal(noName.code, 422);
    assert.equal(noName.body.reason, 'Invalid');
    const wrongNs = await rejects(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'x', namespace: 'other' } } }));
    assert.equal(wrongNs.code, 400);
    const noNs = await rejects(core.createNamespacedConfigMap({ namespace: 'missing', body: { metadata: { name: 'x' } } }));
    assert.equal(noNs.code, 404);
    assert.equal(noNs.body.message, 'namespaces "missing" not found');
    const wrongKind = await raw(server, '/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x' } }) });
    assert.equal(wrongKind.status, 400);
    const missing = await rejects(core.readNamespacedConfigMap({ name: 'nope', namespace: 'default' }));
    assert.equal(missing.code, 404);
    assert.equal(missing.body.message, 'configmaps "nope" not found');
  });

  test('generation starts at 1 and moves only with the spec; no-op writes keep the resourceVersion', async () => {
    const created = server.create(route('gen'));
    assert.equal(created.metadata.generation, 1);
    const labelled = server.update({ ...created, metadata: { ...created.metadata, labels: { a: 'b' } } });
    assert.equal(labelled.metadata.generation, 1);
    assert.notEqual(labelled.metadata.resourceVersion, created.metadata.resourceVersion);
    const withStatus = server.updateStatus({ ...labelled, status: { parents: [] } });
    assert.equal(withStatus.metadata.generation, 1);
    const specChanged = server.update({ ...withStatus, spec: { ...withStatus.spec, hostnames: ['c.example.com'] } });
    assert.equal(specChanged.metadata.generation, 2);
    const noop = server.update(specChanged);
    assert.equal(noop.metadata.resourceVersion, specChanged.metadata.resourceVersion);
    const cm = server.create(configMap('gen'));
    assert.equal(server.update({ ...cm, data: { k: 'changed' } }).metadata.generation, 2);
    assert.equal(server.update({ ...cm, metadata: { ...cm.metadata, resourceVersion: undefined, annotations: { x: 'y' } }, data: { k: 'changed' } }).metadata.generation, 2);
  });

  test('the status subresource changes only status, and the main resource ignores status', async () => {
    const plural = { ...GW, namespace: 'default', plural: 'httproutes', name: 'status' };
    const created = await custom.createNamespacedCustomObject({ ...plural, body: { ...route('status'), status: { parents: ['ignored on create'] } } });
    assert.equal(created.status, undefined);
    const statusWrite = await custom.replaceNamespacedCustomObjectStatus({ ...plural, body: { ...created, spec: { hostnames: ['ignored.example.com'] }, metadata: { ...created.metadata, labels: { ignored: 'yes' } }, status: { parents: [] } } });
    assert.deepEqual(statusWrite.spec, created.spec);
    assert.deepEqual(statusWrite.status, { parents: [] });
    assert.equal(statusWrite.metadata.labels?.ignored, undefined);
    assert.equal(statusWrite.metadata.generation, 1);
    const specWrite = await custom.replaceNamespacedCustomObject({ ...plural, body: { ...statusWrite, spec: { hostnames: ['d.example.com'] }, status: { parents: ['ignored'] } } });
    assert.deepEqual(specWrite.status, { parents: [] });
    assert.equal(specWrite.metadata.generation, 2);
    const patched = await custom.patchNamespacedCustomObjectStatus({ ...plural, body: { status: { parents: [{ parentRef: { name: 'gw' } }] }, spec: { hostnames: ['no'] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    assert.deepEqual(patched.spec, specWrite.spec);
    assert.equal(patched.status.parents.length, 1);
    const stale = await rejects(custom.replaceNamespacedCustomObjectStatus({ ...plural, body: { ...statusWrite, status: { parents: [] } } }));
    assert.equal(stale.code, 409);
    const writes = server.requests.filter((r) => r.subresource === 'status' && r.verb !== 'get');
    assert.deepEqual(writes.map((r) => `${r.verb} ${r.status}`), ['update 200', 'patch 200', 'update 409']);
  });

  test('merge, JSON and strategic merge patches; strategic merge is refused for custom resources', async () => {
    const svc = await core.createNamespacedService({ namespace: 'default', body: { metadata: { name: 'patched' }, spec: { ports: [{ name: 'http', port: 80 }] } } });
    assert.equal(svc.spec?.ports?.[0].targetPort, 80);
    assert.ok(svc.spec?.clusterIP);
    const smp = await core.patchNamespacedService({ name: 'patched', namespace: 'default', body: { spec: { ports: [{ name: 'https', port: 443 }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
    assert.deepEqual(smp.spec?.ports?.map((p) => p.port), [80, 443]);
    const merge = await core.patchNamespacedService({ name: 'patched', namespace: 'default', body: { spec: { ports: [{ port: 8080 }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    assert.deepEqual(merge.spec?.ports?.map((p) => p.port), [8080]);
    const json = await core.patchNamespacedService({ name: 'patched', namespace: 'default', body: [{ op: 'add', path: '/metadata/labels', value: { x: 'y' } }] });
    assert.equal(json.metadata?.labels?.x, 'y');
    const failedTest = await rejects(core.patchNamespacedService({ name: 'patched', namespace: 'default', body: [{ op: 'test', path: '/metadata/name', value: 'other' }] }));
    assert.equal(failedTest.code, 422);
    server.create(route('smp'));
    const refused = await rejects(custom.patchNamespacedCustomObject({ ...GW, namespace: 'default', plural: 'httproutes', name: 'smp', body: { spec: {} } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch)));
    assert.equal(refused.code, 415);
  });

  test('lists paginate with limit and continue over one consistent snapshot; an expired token is 410', async () => {
    for (let i = 0; i < 5; i++) server.create(configMap(`page-${i}`, {}, { page: 'yes' }));
    const first = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'page=yes', limit: 2 });
    assert.deepEqual(first.items.map((c) => c.metadata?.name), ['page-0', 'page-1']);
    assert.equal(first.metadata?.remainingItemCount, 3);
    server.create(configMap('page-9', {}, { page: 'yes' }));
    server.remove(configMap('page-3'));
    const second = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'page=yes', limit: 2, _continue: first.metadata?._continue });
    assert.deepEqual(second.items.map((c) => c.metadata?.name), ['page-2', 'page-3']);
    assert.equal(second.metadata?.resourceVersion, first.metadata?.resourceVersion);
    const third = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'page=yes', limit: 2, _continue: second.metadata?._continue });
    assert.deepEqual(third.items.map((c) => c.metadata?.name), ['page-4']);
    assert.equal(third.metadata?._continue, undefined);

    const again = await core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'page=yes', limit: 2 });
    server.create(configMap('page-after'));
    server.compact();
    const expired = await rejects(core.listNamespacedConfigMap({ namespace: 'default', labelSelector: 'page=yes', limit: 2, _continue: again.metadata?._continue }));
    assert.equal(expired.code, 410);
    assert.equal(expired.body.reason, 'Expired');
    const exact = await raw(server, `/api/v1/namespaces/default/configmaps?resourceVersion=${again.metadata?.resourceVersion}&resourceVersionMatch=Exact`);
    assert.equal(exact.status, 410);
    const notOlder = await raw(server, `/api/v1/namespaces/default/configmaps?resourceVersion=${again.metadata?.resourceVersion}&resourceVersionMatch=NotOlderThan`);
    assert.equal(notOlder.status, 200, 'NotOlderThan an old revision is served from the current state');
    const bogus = await raw(server, '/api/v1/namespaces/default/configmaps?limit=1&continue=bm9wZQ');
    assert.equal(bogus.status, 400);
  });

  test('label and field selectors on lists, including secret type and unsupported fields', async () => {
    server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls', namespace: 'default', labels: { tier: 'front' } }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': 'c', 'tls.key': 'k' } });
    server.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'opaque', namespace: 'default', labels: { tier: 'back' } }, data: {} });
    const names = async (q: { labelSelector?: string; fieldSelector?: string }) => (await core.listSecretForAllNamespaces(q)).items.map((s) => s.metadata?.name).sort();
    assert.deepEqual(await names({ fieldSelector: 'type=kubernetes.io/tls' }), ['tls']);
    assert.deepEqual(await names({ fieldSelector: 'metadata.name!=tls,metadata.namespace=default' }), ['opaque']);
    assert.deepEqual(await names({ labelSelector: 'tier in (front,middle)' }), ['tls']);
    assert.deepEqual(await names({ labelSelector: 'tier notin (front),tier' }), ['opaque']);
    assert.deepEqual(await names({ labelSelector: '!tier' }), []);
    assert.deepEqual(await names({ labelSelector: 'tier!=back' }), ['tls']);
    const tls = await core.readNamespacedSecret({ name: 'tls', namespace: 'default' });
    assert.equal(tls.data?.['tls.crt'], Buffer.from('c').toString('base64'));
    const bad = await rejects(core.listSecretForAllNamespaces({ fieldSelector: 'spec.nope=1' }));
    assert.equal(bad.code, 400);
    assert.equal(bad.body.message, 'field label not supported: spec.nope');
  });

  test('watch replays from a resourceVersion, sends bookmarks, and follows selectors', async () => {
    const start = server.resourceVersion;
    server.create(configMap('w1', {}, { app: 'x' }));
    const w = collect(kc, '/api/v1/namespaces/default/configmaps', { resourceVersion: String(start), allowWatchBookmarks: true, labelSelector: 'app=x' },
      (evs) => evs.some((e) => e.type === 'DELETED') && evs.some((e) => e.type === 'BOOKMARK'));
    await until(() => w.events.length >= 1);
    const cm = server.get(configMap('w1'));
    server.update({ ...cm, data: { k: 'v2' } });
    server.update({ ...cm, metadata: { ...cm.metadata, resourceVersion: undefined, labels: { app: 'other' } }, data: { k: 'v2' } });
    const events = await w.done;
    const changes = events.filter((e) => e.type !== 'BOOKMARK');
    assert.deepEqual(changes.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED w1', 'MODIFIED w1', 'DELETED w1']);
    assert.equal(changes[0].object.kind, 'ConfigMap', 'watch events carry kind');
    assert.equal(changes[2].object.metadata.labels.app, 'x', 'an object that stops matching leaves as its last matching state');
    const bookmark = events.find((e) => e.type === 'BOOKMARK')!.object;
    assert.deepEqual(Object.keys(bookmark).sort(), ['apiVersion', 'kind', 'metadata']);
    assert.ok(Number(bookmark.metadata.resourceVersion) >= start);
  });

  test('a watch from a compacted resourceVersion gets an ERROR event with a 410 Expired Status', async () => {
    const old = server.resourceVersion;
    server.create(configMap('compacted'));
    server.compact();
    const w = collect(kc, '/api/v1/namespaces/default/configmaps', { resourceVersion: String(old) }, () => false);
    const events = await w.done;
    assert.equal(events.length, 1);
    assert.equal(events[0].type, 'ERROR');
    assert.equal(events[0].object.kind, 'Status');
    assert.equal(events[0].object.code, 410);
    assert.equal(events[0].object.reason, 'Expired');
  });

  test('sendInitialEvents streams the current state, marks its end with a bookmark, and timeoutSeconds ends the watch', async () => {
    server.create(configMap('initial', {}, { initial: 'yes' }));
    const started = Date.now();
    const res = await fetch(`${server.url}/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=initial%3Dyes&timeoutSeconds=1`, { headers: { authorization: `Bearer ${server.token}` } });
    assert.equal(res.status, 200);
    const events = (await res.text()).trim().split('\n').map((line) => JSON.parse(line));
    assert.ok(Date.now() - started >= 900, 'the stream ended after timeoutSeconds, cleanly');
    assert.deepEqual(events.slice(0, 2).map((e) => e.type), ['ADDED', 'BOOKMARK']);
    assert.equal(events[1].object.metadata.annotations['k8s.io/initial-events-end'], 'true');
    const missingBookmarks = await raw(server, '/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan');
    assert.equal(missingBookmarks.status, 400);
  });

  test('makeInformer lists then watches; dropped watches end with an error the client sees', async () => {
    const path = '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes';
    const informer = makeInformer<KubernetesObject>(kc, path, () => custom.listNamespacedCustomObject({ ...GW, namespace: 'default', plural: 'httproutes' }));
    const errors: unknown[] = [];
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    const initial = informer.list().length;
    server.create(route('informed'));
    await until(() => informer.list().length === initial + 1);
    assert.ok(server.openWatches >= 1);
    assert.ok(server.dropWatches() >= 1);
    await until(() => errors.length === 1);
    await informer.stop();
  });

  test('down() refuses connections and up() serves the same state on the same port', async () => {
    server.create(configMap('survives'));
    await server.down();
    await assert.rejects(fetch(`${server.url}/healthz`), (err: Error & { cause?: { code?: string } }) => err.cause?.code === 'ECONNREFUSED');
    server.create(configMap('while-down'));
    await server.up();
    const names = (await core.listNamespacedConfigMap({ namespace: 'default' })).items.map((c) => c.metadata?.name);
    assert.ok(names.includes('survives') && names.includes('while-down'));
  });

  test('namespace deletion removes what is in it', async () => {
    server.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    server.create({ ...configMap('inside'), metadata: { name: 'inside', namespace: 'doomed' } });
    const ns = await core.readNamespace({ name: 'doomed' });
    assert.equal(ns.metadata?.labels?.['kubernetes.io/metadata.name'], 'doomed');
    await core.deleteNamespace({ name: 'doomed' });
    assert.equal(server.list('v1', 'ConfigMap', 'doomed').length, 0);
    assert.equal((await rejects(core.readNamespace({ name: 'doomed' }))).code, 404);
  });
});

async function until(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
