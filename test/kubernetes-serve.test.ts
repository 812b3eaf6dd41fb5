// `waygate serve --kubernetes` end to end: two replicas against one API server that speaks the
// real protocol. Every replica serves traffic; only the Lease holder writes status and keeps the
// Gateway's Service; the status it writes is what `waygate translate` computes offline.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { translateCommand } from '../src/main.ts';
import { loadManifests } from '../src/providers/index.ts';
import { startKubeApiServer, type KubeApiServer } from './helpers/kube-apiserver.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { startServe, type RunningWaygate } from './helpers/waygate.ts';

type Json = Record<string, any>;

const NS = 'waygate-system';
const LEASE_SECONDS = 3;
const LB_IP = '203.0.113.7';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}${logs()}`);
}

let logs = () => '';

function conditionsOf(status: Json | undefined): Json[] {
  return status?.conditions ?? [];
}

function condition(status: Json | undefined, type: string): Json | undefined {
  return conditionsOf(status).find((c) => c.type === type);
}

/** Deep copy without lastTransitionTime: the only field a writer stamps on its own. */
function withoutTimes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutTimes);
  if (!value || typeof value !== 'object') return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) if (k !== 'lastTransitionTime') out[k] = withoutTimes(v);
  return out;
}

describe('waygate serve --kubernetes, two replicas', () => {
  let api: KubeApiServer;
  let upstreams: Upstream[] = [];
  const replicas = new Map<string, RunningWaygate>();
  const addresses = { 'replica-a': '127.0.0.1', 'replica-b': '127.0.0.2' } as const;
  let dumpDir = '';

  logs = () => [...replicas].map(([name, w]) => `\n--- ${name}:\n${w.output()}`).join('');
  const start = async (name: keyof typeof addresses) => {
    const args = [
      '--kubernetes', '--kubeconfig', api.kubeconfigFor(name), '--workers', '0', '--listen-address', addresses[name],
      '--leader-election-lease-duration', String(LEASE_SECONDS),
    ];
    const w = await startServe(args, { env: { POD_NAME: name, POD_NAMESPACE: NS } });
    replicas.set(name, w);
    return w;
  };
  const lease = () => api.get({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { namespace: NS, name: 'waygate' } }) as Json;
  const holder = () => {
    try {
      return (lease().spec?.holderIdentity as string | undefined) || undefined;
    } catch {
      return undefined;
    }
  };
  const statusWrites = () => api.requests.filter((r) => r.subresource === 'status' && (r.verb === 'update' || r.verb === 'patch') && r.status < 300);
  const gatewayService = () => api.list('v1', 'Service', NS).find((s: Json) => s.metadata.annotations?.['waygate.dev/gateway'] === 'default/quickstart') as Json | undefined;
  const gateway = () => api.get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { namespace: 'default', name: 'quickstart' } }) as Json;
  const get = async (host: string, port: number, path: string) => {
    const res = await fetch(`http://${host}:${port}${path}`);
    return { status: res.status, body: await res.text() };
  };

  before(async () => {
    api = await startKubeApiServer({ namespaces: ['default', NS], bookmarkIntervalMs: 2000 });
    const { objects, errors } = await loadManifests(['examples/quickstart']);
    assert.deepEqual(errors, []);
    // The example's EndpointSlices point at fixed local ports; point them at real servers here.
    const byPort = new Map<number, number>();
    for (const obj of objects) {
      if (obj.kind !== 'EndpointSlice') continue;
      for (const p of (obj as Json).ports) {
        if (!byPort.has(p.port)) {
          const u = await startUpstream((obj as Json).metadata.labels['kubernetes.io/service-name']);
          upstreams.push(u);
          byPort.set(p.port, u.port);
        }
      }
    }
    for (const obj of objects) {
      const copy = structuredClone(obj) as Json;
      if (copy.kind === 'EndpointSlice') for (const p of copy.ports) p.port = byPort.get(p.port);
      if (copy.kind === 'Service') for (const p of copy.spec.ports) if (byPort.has(p.targetPort)) p.targetPort = byPort.get(p.targetPort);
      api.create(copy);
    }
    await start('replica-a');
    await until('replica-a to lead', () => holder() === 'replica-a');
    await start('replica-b');
    // The cloud's load balancer controller gives the Gateway's Service an address.
    const svc = await until('the Gateway Service', gatewayService);
    api.updateStatus({ ...svc, status: { loadBalancer: { ingress: [{ ip: LB_IP }] } } });
    await until('the Gateway to be Programmed with its address', () => {
      const st = gateway().status;
      return condition(st, 'Programmed')?.status === 'True' && st.addresses?.[0]?.value === LB_IP;
    });
    for (const w of replicas.values()) await w.waitReady();
  });

  after(async () => {
    for (const w of replicas.values()) await w.stop();
    for (const u of upstreams) await u.close();
    await api?.stop();
    if (dumpDir) await rm(dumpDir, { recursive: true, force: true });
  });

  test('every replica serves the Gateway on its container port; only the leader wrote status', async () => {
    const svc = gatewayService()!;
    const port = svc.spec.ports.find((p: Json) => p.port === 8080).targetPort as number;
    assert.ok(port >= 10000 && port <= 29999, `container port ${port} in Waygate's range`);
    for (const host of Object.values(addresses)) {
      assert.deepEqual(await get(host, port, '/'), { status: 200, body: 'web\n' }, `replica on ${host}`);
      assert.equal((await get(host, port, '/api/hello')).status, 200);
    }
    const writers = new Set(statusWrites().map((r) => r.user));
    assert.deepEqual([...writers], ['replica-a'], 'only the Lease holder writes status');
    const serviceWriters = new Set(api.requests.filter((r) => r.resource === 'services' && ['create', 'update', 'patch', 'delete'].includes(r.verb)).map((r) => r.user));
    assert.deepEqual([...serviceWriters], ['replica-a'], 'only the Lease holder keeps Gateway Services');
  });

  test('the status written equals what waygate translate computes from the same objects', async () => {
    dumpDir = await mkdtemp(join(tmpdir(), 'waygate-k8s-dump-'));
    const kinds: [string, string][] = [
      ['gateway.networking.k8s.io/v1', 'GatewayClass'], ['gateway.networking.k8s.io/v1', 'Gateway'], ['gateway.networking.k8s.io/v1', 'HTTPRoute'],
      ['v1', 'Service'], ['discovery.k8s.io/v1', 'EndpointSlice'], ['v1', 'Namespace'],
      // The installed Gateway API CRDs: GatewayClass SupportedVersion is computed from them.
      ['apiextensions.k8s.io/v1', 'CustomResourceDefinition'],
    ];
    const live: Json[] = kinds.flatMap(([v, k]) => api.list(v, k) as Json[]);
    // What a user would save with `kubectl get -o yaml`, status and all.
    await writeFile(join(dumpDir, 'cluster.yaml'), live.map((o) => stringify(o)).join('---\n'));
    const { text, errors } = await translateCommand({
      manifests: [dumpDir], output: 'json', listenAddress: '127.0.0.1', controllerName: 'waygate.dev/gateway-controller',
      kubernetes: { podNamespace: NS, gatewayServiceType: 'LoadBalancer', proxySelector: { 'app.kubernetes.io/name': 'waygate', 'app.kubernetes.io/instance': 'waygate' } },
    });
    assert.deepEqual(errors, []);
    const computed = (JSON.parse(text) as { statuses: { kind: string; metadata: { namespace?: string; name: string }; status: Json }[] }).statuses;
    assert.ok(computed.length >= 4);
    for (const s of computed) {
      const obj = live.find((o) => o.kind === s.kind && o.metadata.name === s.metadata.name && o.metadata.namespace === s.metadata.namespace)!;
      let written = obj.status;
      if (s.kind === 'HTTPRoute') written = { parents: written.parents.filter((p: Json) => p.controllerName === 'waygate.dev/gateway-controller') };
      assert.deepEqual(withoutTimes(written), withoutTimes(s.status), `${s.kind} ${s.metadata.namespace ?? ''}/${s.metadata.name}`);
    }
  });

  test('100 new routes: each status written a bounded number of times; an idle cluster causes no writes', async () => {
    const before = statusWrites().length;
    for (let i = 0; i < 100; i++) {
      api.create({
        apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute',
        metadata: { namespace: 'default', name: `bulk-${i}` },
        spec: { parentRefs: [{ name: 'quickstart' }], hostnames: [`bulk-${i}.example.com`], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] },
      });
    }
    await until('every new route to be Accepted', () =>
      api.list('gateway.networking.k8s.io/v1', 'HTTPRoute', 'default').filter((r: Json) => r.metadata.name.startsWith('bulk-'))
        .every((r: Json) => condition(r.status?.parents?.[0], 'Accepted')?.status === 'True'), 20_000);
    await sleep(1500);
    const writes = statusWrites().slice(before);
    const perObject = new Map<string, number>();
    for (const w of writes) perObject.set(w.path, (perObject.get(w.path) ?? 0) + 1);
    const routeWrites = [...perObject].filter(([p]) => p.includes('/httproutes/bulk-'));
    assert.equal(routeWrites.length, 100, 'each new route got a status');
    assert.ok(routeWrites.every(([, n]) => n <= 3), `route writes per object: ${JSON.stringify(routeWrites.filter(([, n]) => n > 3))}`);
    const gatewayWrites = [...perObject].filter(([p]) => p.includes('/gateways/')).reduce((a, [, n]) => a + n, 0);
    assert.ok(gatewayWrites <= 6, `Gateway status written ${gatewayWrites} times for one burst`);
    assert.ok(gateway().status.listeners[0].attachedRoutes >= 102);

    const idleFrom = statusWrites().length;
    const servicesFrom = api.requests.filter((r) => r.resource === 'services' && r.verb !== 'list' && r.verb !== 'watch' && r.verb !== 'get').length;
    await sleep(3000);
    assert.equal(statusWrites().length, idleFrom, 'no status writes while nothing changes');
    assert.equal(api.requests.filter((r) => r.resource === 'services' && r.verb !== 'list' && r.verb !== 'watch' && r.verb !== 'get').length, servicesFrom);
  });

  test('the leader crashes: the other replica takes over within the lease duration and writes status', async () => {
    const leader = replicas.get('replica-a')!;
    const killedAt = Date.now();
    leader.process.kill('SIGKILL');
    await until('replica-b to take the Lease', () => holder() === 'replica-b', (LEASE_SECONDS + 3) * 1000);
    const takeover = Date.now() - killedAt;
    assert.ok(takeover <= (LEASE_SECONDS + 1) * 1000, `took over after ${takeover} ms (lease ${LEASE_SECONDS} s)`);
    replicas.delete('replica-a');

    api.create({
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute',
      metadata: { namespace: 'default', name: 'after-failover' },
      spec: { parentRefs: [{ name: 'quickstart' }], hostnames: ['after.example.com'], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] },
    });
    await until('the new leader to write the new route status', () => {
      const r = api.get({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { namespace: 'default', name: 'after-failover' } }) as Json;
      return condition(r.status?.parents?.[0], 'Accepted')?.status === 'True';
    });
    const writer = statusWrites().filter((r) => r.path.endsWith('/after-failover/status')).map((r) => r.user);
    assert.deepEqual([...new Set(writer)], ['replica-b']);
    const svc = gatewayService()!;
    const port = svc.spec.ports.find((p: Json) => p.port === 8080).targetPort as number;
    const res = await fetch(`http://127.0.0.2:${port}/`, { headers: { host: 'after.example.com' } });
    assert.equal(res.status, 200);
  });
});
