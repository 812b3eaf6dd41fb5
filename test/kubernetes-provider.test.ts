// The Kubernetes provider against the test API server, through the real client-node: the store
// must converge to what the server holds through dropped watches, 410 Gone and outages.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { KubernetesProvider, loadKubeConfig, type KubernetesProviderOptions } from '../src/providers/index.ts';
import { Store, type Snapshot } from '../src/resources/index.ts';
import { GATEWAY_API_CRD_NAMES } from '../src/api/index.ts';
import { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions, type KubeJson } from './helpers/kube-apiserver.ts';

const GW_API = 'gateway.networking.k8s.io/v1';
const ns = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
const gatewayClass = { apiVersion: GW_API, kind: 'GatewayClass', metadata: { name: 'waygate' }, spec: { controllerName: 'waygate.dev/gateway-controller' } };
const gateway = (name: string, namespace = 'default', certs: { name: string; namespace?: string }[] = [], labels: Record<string, string> = {}) => ({
  apiVersion: GW_API, kind: 'Gateway', metadata: { name, namespace, labels },
  spec: {
    gatewayClassName: 'waygate',
    listeners: [
      { name: 'http', port: 80, protocol: 'HTTP' },
      ...(certs.length ? [{ name: 'https', port: 443, protocol: 'HTTPS', tls: { mode: 'Terminate', certificateRefs: certs.map((c) => ({ kind: 'Secret', group: '', ...c })) } }] : []),
    ],
  },
});
const route = (name: string, namespace = 'default', labels: Record<string, string> = {}) => ({
  apiVersion: GW_API, kind: 'HTTPRoute', metadata: { name, namespace, labels },
  spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] },
});
const service = (name: string, namespace = 'default') => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ port: 80 }] } });
const secret = (name: string, namespace = 'default') => ({
  apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, type: 'kubernetes.io/tls', stringData: { 'tls.crt': 'crt', 'tls.key': 'key' },
});

const FAST = { backoff: { initialMs: 20, maxMs: 200 }, recheckMs: 100 } satisfies Partial<KubernetesProviderOptions>;

interface Harness {
  server: KubeApiServer;
  store: Store;
  provider: KubernetesProvider;
  logs: KubeJson[];
  stop(): Promise<void>;
}

async function harness(options: Partial<KubernetesProviderOptions> = {}, serverOptions: KubeApiServerOptions = {}, seed: (s: KubeApiServer) => void = () => {}): Promise<Harness> {
  const server = await startKubeApiServer({ bookmarkIntervalMs: 200, ...serverOptions });
  seed(server);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(server.kubeconfigPath);
  const logs: KubeJson[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) } as never);
  const store = new Store();
  const provider = new KubernetesProvider({ store, logger, kubeConfig, ...FAST, ...options });
  return {
    server, store, provider, logs,
    async stop() {
      await provider.stop();
      await server.stop();
    },
  };
}

/** Resolves once the store's snapshot satisfies `pred`. */
async function converge(store: Store, pred: (s: Snapshot) => boolean, timeoutMs = 10_000): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = store.snapshot();
    if (pred(s)) return s;
    if (Date.now() > deadline) throw new Error(`store did not converge; it holds ${summary(s)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const names = (objs: readonly { metadata: { name: string; namespace?: string } }[]) => objs.map((o) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name)).sort().join(',');
const summary = (s: Snapshot) => `routes=[${names(s.httpRoutes)}] services=[${names(s.services)}] secrets=[${names(s.secrets)}] gateways=[${names(s.gateways)}]`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Kubernetes provider', () => {
  test('start() resolves with the whole cluster in the store, kind and apiVersion set, managedFields dropped', async () => {
    const h = await harness({}, {}, (s) => {
      s.create(gatewayClass);
      s.create(gateway('gw'));
      s.create(route('a'));
      s.create(service('web'));
      s.create({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }], ports: [{ port: 8080 }] });
      s.create({ apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'ReferenceGrant', metadata: { name: 'grant', namespace: 'default' }, spec: { from: [], to: [] } });
      s.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ca', namespace: 'default' }, data: { 'ca.crt': 'x' } });
    });
    try {
      await h.provider.start();
      const s = h.store.snapshot();
      assert.equal(names(s.gatewayClasses), 'waygate');
      assert.equal(names(s.gateways), 'default/gw');
      assert.equal(names(s.httpRoutes), 'default/a');
      assert.equal(names(s.services), 'default/web');
      assert.equal(names(s.endpointSlices), 'default/web-1');
      assert.equal(names(s.referenceGrants), 'default/grant');
      assert.ok(names(s.configMaps).includes('default/ca'));
      assert.ok(names(s.namespaces).includes('default'));
      const svc = s.services[0] as unknown as KubeJson;
      assert.equal(svc.kind, 'Service');
      assert.equal(svc.apiVersion, 'v1');
      assert.equal(svc.metadata.managedFields, undefined);
      assert.equal(s.httpRoutes[0].apiVersion, GW_API);
      assert.equal(s.httpRoutes[0].metadata.generation, 1);
      // The Gateway API CRDs Waygate reads, by name only, and of each only its metadata.
      assert.equal(names(s.customResourceDefinitions), GATEWAY_API_CRD_NAMES.join(','));
      const crd = s.customResourceDefinitions[0] as unknown as KubeJson;
      assert.deepEqual(Object.keys(crd).sort(), ['apiVersion', 'kind', 'metadata']);
      assert.equal(crd.metadata.annotations['gateway.networking.k8s.io/bundle-version'], 'v1.6.1');
      assert.equal(crd.metadata.annotations['gateway.networking.k8s.io/channel'], 'standard');
      const crdReads = h.server.requests.filter((r) => r.resource === 'customresourcedefinitions');
      assert.deepEqual(crdReads.filter((r) => r.verb === 'list').map((r) => r.query.fieldSelector).sort(), GATEWAY_API_CRD_NAMES.map((n) => `metadata.name=${n}`), 'one list of each CRD');
      assert.deepEqual(crdReads.filter((r) => !GATEWAY_API_CRD_NAMES.some((n) => r.query.fieldSelector === `metadata.name=${n}`)), [], 'each names one CRD');
      const health = h.provider.health();
      assert.equal(health.ready, true);
      assert.deepEqual(Object.keys(health.kinds).sort(), ['BackendTrafficPolicy', 'ConfigMap', 'CustomResourceDefinition', 'EndpointSlice', 'Gateway', 'GatewayClass', 'HTTPRoute', 'Namespace', 'ReferenceGrant', 'Secret', 'Service']);
      assert.ok(Object.values(health.kinds).every((k) => k.state === 'synced'));
      assert.deepEqual(h.provider.errors(), []);
    } finally {
      await h.stop();
    }
  });

  test('additions, changes and deletions reach the store, one source per kind', async () => {
    const h = await harness();
    try {
      await h.provider.start();
      const sources: string[] = [];
      const replace = h.store.replace.bind(h.store);
      h.store.replace = (source, objects) => {
        sources.push(source);
        replace(source, objects);
      };
      const created = h.server.create(route('r1'));
      await converge(h.store, (s) => names(s.httpRoutes) === 'default/r1');
      h.server.update({ ...created, spec: { ...created.spec, hostnames: ['changed.example.com'] } });
      await converge(h.store, (s) => (s.httpRoutes[0] as KubeJson).spec.hostnames?.[0] === 'changed.example.com');
      assert.equal(h.store.snapshot().httpRoutes[0].metadata.generation, 2);
      h.server.remove(route('r1'));
      await converge(h.store, (s) => s.httpRoutes.length === 0);
      assert.deepEqual([...new Set(sources)], ['kubernetes/HTTPRoute']);
    } finally {
      await h.stop();
    }
  });

  test('a dropped watch connection resumes from its resourceVersion without a relist', async () => {
    const h = await harness();
    try {
      await h.provider.start();
      const lists = () => h.server.requests.filter((r) => r.verb === 'list').length;
      const before = lists();
      // Nine kinds, and one watch for each of the four Gateway API CRDs.
      await until(() => h.server.openWatches === 13);
      assert.equal(h.server.dropWatches(), 13);
      h.server.create(route('after-drop'));
      await converge(h.store, (s) => names(s.httpRoutes) === 'default/after-drop');
      assert.equal(lists(), before, 'no kind listed again');
      await until(() => h.provider.health().kinds.HTTPRoute.state === 'synced');
    } finally {
      await h.stop();
    }
  });

  test('410 Gone after compaction: the kind is listed again and the store converges, deletions included', async () => {
    const h = await harness({}, {}, (s) => {
      s.create(route('kept'));
      s.create(route('deleted'));
      s.create(service('changed'));
    });
    try {
      await h.provider.start();
      const listsBefore = h.server.requests.filter((r) => r.verb === 'list' && r.resource === 'httproutes').length;
      // In one turn: no watch can reconnect between the drop and the compaction.
      h.server.dropWatches();
      h.server.remove(route('deleted'));
      h.server.create(route('added'));
      const svc = h.server.get(service('changed'));
      h.server.update({ ...svc, metadata: { ...svc.metadata, labels: { changed: 'yes' } } });
      h.server.compact();
      const s = await converge(h.store, (x) => names(x.httpRoutes) === 'default/added,default/kept' && x.services.some((v) => v.metadata.labels?.changed === 'yes'));
      assert.equal(names(s.httpRoutes), 'default/added,default/kept');
      const listsAfter = h.server.requests.filter((r) => r.verb === 'list' && r.resource === 'httproutes').length;
      assert.ok(listsAfter > listsBefore, 'HTTPRoutes were listed again after 410');
      assert.ok(h.server.requests.some((r) => r.verb === 'watch' && r.resource === 'httproutes' && r.status === 200));
    } finally {
      await h.stop();
    }
  });

  test('API server down for 30 s with changes meanwhile: the store converges, one log line per kind each way', { timeout: 60_000 }, async () => {
    const h = await harness({ backoff: { initialMs: 50, maxMs: 1000 } }, {}, (s) => {
      s.create(route('stays'));
      s.create(route('goes'));
      s.create(service('web'));
    });
    try {
      await h.provider.start();
      await h.server.down();
      // Changes the provider cannot see while the server is down, including a deletion.
      h.server.remove(route('goes'));
      h.server.create(route('arrives'));
      h.server.create(service('api'));
      await until(() => h.provider.health().kinds.HTTPRoute.state === 'retrying');
      const attemptsStart = h.server.requests.length;
      await sleep(30_000);
      const during = h.provider.health();
      assert.equal(during.ready, true, 'stays ready on its last view of the cluster');
      assert.equal(during.kinds.HTTPRoute.state, 'retrying');
      assert.match(during.kinds.HTTPRoute.lastError ?? '', /ECONNREFUSED/);
      assert.equal(names(h.store.snapshot().httpRoutes), 'default/goes,default/stays', 'keeps serving the last state seen');
      assert.equal(h.server.requests.length, attemptsStart, 'nothing answered while down');
      await h.server.up();
      const s = await converge(h.store, (x) => names(x.httpRoutes) === 'default/arrives,default/stays' && names(x.services) === 'default/api,default/web');
      assert.equal(names(s.httpRoutes), 'default/arrives,default/stays');
      await until(() => Object.values(h.provider.health().kinds).every((k) => k.state === 'synced'));
      const failing = h.logs.filter((l) => String(l.msg).startsWith('K8S_ERR_WATCH'));
      const recovered = h.logs.filter((l) => String(l.msg).endsWith('watching again'));
      const watchedKinds = 10; // every kind but Secret, which watches nothing here
      assert.ok(failing.length <= watchedKinds, `${failing.length} failure lines`);
      assert.equal(new Set(failing.map((l) => l.kind)).size, failing.length, 'one failure line per kind');
      assert.equal(recovered.length, failing.length, 'one recovery line per failure line');
    } finally {
      await h.stop();
    }
  });

  test('namespace option: namespaced kinds from one namespace, GatewayClass and Namespace cluster-wide', async () => {
    const h = await harness({ namespace: 'team-a' }, {}, (s) => {
      s.create(ns('team-a'));
      s.create(ns('team-b'));
      s.create(gatewayClass);
      s.create(route('mine', 'team-a'));
      s.create(route('theirs', 'team-b'));
      s.create(service('web', 'team-b'));
    });
    try {
      await h.provider.start();
      const s = h.store.snapshot();
      assert.equal(names(s.httpRoutes), 'team-a/mine');
      assert.equal(s.services.length, 0);
      assert.equal(names(s.gatewayClasses), 'waygate');
      assert.ok(names(s.namespaces).includes('team-b'));
      assert.ok(h.server.requests.filter((r) => r.resource === 'httproutes').every((r) => r.path.startsWith('/apis/gateway.networking.k8s.io/v1/namespaces/team-a/')));
    } finally {
      await h.stop();
    }
  });

  test('label selector: applies to Gateways and routes, not to the objects they reference', async () => {
    const h = await harness({ labelSelector: 'shard=one' }, {}, (s) => {
      s.create(route('in', 'default', { shard: 'one' }));
      s.create(route('out', 'default', { shard: 'two' }));
      s.create(gateway('gw-in', 'default', [], { shard: 'one' }));
      s.create(gateway('gw-out'));
      s.create(service('web'));
    });
    try {
      await h.provider.start();
      let s = h.store.snapshot();
      assert.equal(names(s.httpRoutes), 'default/in');
      assert.equal(names(s.gateways), 'default/gw-in');
      assert.equal(names(s.services), 'default/web');
      const out = h.server.get(route('out'));
      h.server.update({ ...out, metadata: { ...out.metadata, labels: { shard: 'one' } } });
      const inRoute = h.server.get(route('in'));
      h.server.update({ ...inRoute, metadata: { ...inRoute.metadata, labels: {} } });
      s = await converge(h.store, (x) => names(x.httpRoutes) === 'default/out');
      assert.equal(names(s.httpRoutes), 'default/out');
    } finally {
      await h.stop();
    }
  });

  test('only Secrets a Gateway references are read; one appears when a Gateway starts referencing it', async () => {
    const h = await harness({}, {}, (s) => {
      s.create(ns('certs'));
      s.create(secret('used'));
      s.create(secret('unused'));
      s.create(secret('later'));
      s.create(secret('shared', 'certs'));
      s.create(gateway('gw', 'default', [{ name: 'used' }, { name: 'shared', namespace: 'certs' }, { name: 'missing' }]));
    });
    try {
      await h.provider.start();
      let s = h.store.snapshot();
      assert.equal(names(s.secrets), 'certs/shared,default/used');
      assert.equal(s.secrets[0].kind, 'Secret');
      assert.equal(h.provider.health().kinds.Secret.watched, 3);
      const secretRequests = h.server.requests.filter((r) => r.resource === 'secrets');
      assert.ok(secretRequests.every((r) => r.query.fieldSelector?.startsWith('metadata.name=')), 'never an unfiltered list or watch of Secrets');

      const gw = h.server.get(gateway('gw'));
      h.server.update({ ...gw, spec: { ...gw.spec, listeners: [{ name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'later' }] } }] } });
      s = await converge(h.store, (x) => names(x.secrets) === 'default/later' && (x.gateways[0] as KubeJson).spec.listeners.length === 1);
      h.server.create(secret('missing'));
      h.server.remove(secret('later'));
      await converge(h.store, (x) => x.secrets.length === 0);
      assert.equal(h.provider.health().kinds.Secret.watched, 1);
      assert.ok(!names(h.store.snapshot().secrets).includes('unused'));
    } finally {
      await h.stop();
    }
  });

  test('a Gateway that starts referencing a Secret is published together with it', async () => {
    const h = await harness({}, {}, (s) => {
      s.create(secret('cert'));
      s.create(gateway('gw'));
    });
    try {
      await h.provider.start();
      const seen: string[] = [];
      h.store.onChange(() => {
        const s = h.store.snapshot();
        const refs = (s.gateways[0] as KubeJson | undefined)?.spec.listeners.length ?? 0;
        seen.push(`${refs}-listeners ${names(s.secrets) || 'no-secret'}`);
      });
      const gw = h.server.get(gateway('gw'));
      h.server.update({ ...gw, spec: gateway('gw', 'default', [{ name: 'cert' }]).spec });
      await converge(h.store, (s) => (s.gateways[0] as KubeJson).spec.listeners.length === 2 && s.secrets.length === 1);
      assert.ok(!seen.includes('2-listeners no-secret'), `the Gateway was never published without its Secret: ${seen.join(' | ')}`);
    } finally {
      await h.stop();
    }
  });

  test('a kind whose CRD is not installed is disabled with one log line, and enabled once the CRD appears', async () => {
    const h = await harness({}, { omit: ['httproutes.gateway.networking.k8s.io'] }, (s) => s.create(service('web')));
    try {
      await h.provider.start();
      const health = h.provider.health();
      assert.equal(health.ready, true);
      assert.equal(health.kinds.HTTPRoute.state, 'disabled');
      assert.equal(health.kinds.Service.state, 'synced');
      assert.deepEqual(h.provider.errors().map((e) => `${e.kind} ${e.state}`), ['HTTPRoute disabled']);
      await sleep(350); // several rechecks
      const lines = h.logs.filter((l) => String(l.msg).startsWith('K8S_ERR_NOT_SERVED'));
      assert.equal(lines.length, 1);
      assert.match(lines[0].msg, /HTTPRoute disabled: .*httproutes; install the Gateway API CRDs/);
      h.server.install('httproutes.gateway.networking.k8s.io');
      h.server.create(route('late'));
      await converge(h.store, (s) => names(s.httpRoutes) === 'default/late');
      await until(() => h.provider.health().kinds.HTTPRoute.state === 'synced');
      assert.ok(h.logs.some((l) => l.msg === 'HTTPRoute enabled: the API server serves it now'));
      // Removing the CRD again removes its objects from the store.
      h.server.uninstall('httproutes.gateway.networking.k8s.io');
      await converge(h.store, (s) => s.httpRoutes.length === 0);
      await until(() => h.provider.health().kinds.HTTPRoute.state === 'disabled');
    } finally {
      await h.stop();
    }
  });

  test('without RBAC on CustomResourceDefinitions (an older ClusterRole) the provider starts and says so once', async () => {
    const h = await harness({}, { forbidden: ['customresourcedefinitions.apiextensions.k8s.io'] }, (s) => s.create(service('web')));
    try {
      await h.provider.start();
      assert.equal(h.provider.health().ready, true);
      assert.equal(h.provider.health().kinds.CustomResourceDefinition.state, 'disabled');
      assert.equal(names(h.store.snapshot().services), 'default/web');
      await sleep(350); // several rechecks
      const lines = h.logs.filter((l) => String(l.msg).startsWith('K8S_ERR_FORBIDDEN'));
      assert.equal(lines.length, 1, 'one line however often it is checked again');
      assert.match(lines[0].msg, /CustomResourceDefinition disabled: RBAC does not let Waygate list and watch .*customresourcedefinitions \(403\)/);
      // Other kinds are not read only if permitted: a 403 on them is a failure to retry.
      assert.equal(h.logs.filter((l) => String(l.msg).startsWith('K8S_ERR_NOT_SERVED')).length, 0);
    } finally {
      await h.stop();
    }
  });

  test('a status-only change of a route (as Waygate writes) leaves the store alone; other changes reach it', async () => {
    const h = await harness({}, {}, (s) => {
      s.create(route('web'));
      s.create(service('svc'));
    });
    try {
      await h.provider.start();
      const held = h.store.snapshot().httpRoutes[0];
      const version = h.store.version;
      const status = { parents: [{ parentRef: { name: 'gw' }, controllerName: 'waygate.dev/gateway-controller', conditions: [] }] };
      h.server.updateStatus({ ...h.server.get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { namespace: 'default', name: 'web' } }), status });
      // A change that does reach the store afterwards shows the status event was handled first.
      h.server.create(service('after'));
      await converge(h.store, (s) => names(s.services) === 'default/after,default/svc');
      assert.equal(h.store.snapshot().httpRoutes[0], held, 'the route object is the one held before the status write');
      assert.equal(h.store.version, version + 1, 'one store change: the Service, not the status');
      h.server.update({ ...route('web', 'default', { team: 'a' }) });
      await converge(h.store, (s) => s.httpRoutes[0]?.metadata.labels?.team === 'a');
    } finally {
      await h.stop();
    }
  });

  test('start() with syncTimeoutMs rejects naming the kinds that did not sync', async () => {
    const h = await harness({ syncTimeoutMs: 300 });
    await h.server.down();
    try {
      await assert.rejects(h.provider.start(), /K8S_ERR_SYNC_TIMEOUT .*Gateway \(ECONNREFUSED/);
      assert.equal(h.provider.health().ready, false);
    } finally {
      await h.stop();
    }
  });

  test('stop() closes every watch and no request follows', async () => {
    const h = await harness();
    try {
      await h.provider.start();
      await until(() => h.server.openWatches >= 8);
      await h.provider.stop();
      await until(() => h.server.openWatches === 0);
      const count = h.server.requests.length;
      h.server.dropWatches();
      await sleep(300);
      assert.equal(h.server.requests.length, count);
    } finally {
      await h.stop();
    }
  });

  test('loadKubeConfig reads an explicit kubeconfig and says what is missing', async () => {
    const server = await startKubeApiServer();
    try {
      const kc = loadKubeConfig({ kubeconfig: server.kubeconfigPath });
      assert.equal(kc.getCurrentCluster()?.server, server.url);
      assert.throws(() => loadKubeConfig({ kubeconfig: '/nonexistent/kubeconfig' }), /K8S_ERR_CONFIG/);
    } finally {
      await server.stop();
    }
  });
});

async function until(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}
