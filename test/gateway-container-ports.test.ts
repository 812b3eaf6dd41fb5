// Kubernetes mode: container ports stay where they are when Gateways come and go, every replica
// computes the same ones, and generated Service names are valid. (Goldens show single snapshots;
// these check what happens across snapshots.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Gateway, KubeObject, Service } from '../src/api/index.ts';
import { snapshotOf } from '../src/resources/index.ts';
import { translate, type TranslateOptions } from '../src/translator/index.ts';

const OPTIONS: TranslateOptions = {
  controllerName: 'waygate.dev/gateway-controller',
  listenAddress: '0.0.0.0',
  deployment: {
    kind: 'kubernetes', namespace: 'waygate-system', proxySelector: { app: 'waygate' }, serviceType: 'LoadBalancer',
    // Ten ports: zeta/80 and alpha-9/80 both hash to 10009.
    portRange: { first: 10000, last: 10009 },
  },
};

const CLASS: KubeObject = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'waygate' }, spec: { controllerName: OPTIONS.controllerName } } as KubeObject;

function gateway(name: string, created: string, ports: number[] = [80], namespace = 'default'): Gateway {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway',
    metadata: { name, namespace, creationTimestamp: created },
    spec: { gatewayClassName: 'waygate', listeners: ports.map((port) => ({ name: `p${port}`, port, protocol: 'HTTP' })) },
  };
}

/** What the cluster makes of the desired Services: the same, plus a cluster IP. */
function applied(services: readonly Service[] | undefined): Service[] {
  return (services ?? []).map((s) => ({ ...s, spec: { ...s.spec, clusterIP: '10.96.0.1' } }));
}

/** `<namespace>/<gateway>/<listener port>` → container port, from the desired Services. */
function ports(services: readonly Service[] | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of services ?? []) {
    for (const p of s.spec?.ports ?? []) out.set(`${s.metadata.annotations?.['waygate.dev/gateway']}/${p.port}`, p.targetPort as number);
  }
  return out;
}

test('a newer Gateway that sorts first and hashes to the same port does not take it', () => {
  const zeta = gateway('zeta', '2024-01-01T00:00:00Z');
  const before = ports(translate(snapshotOf([CLASS, zeta]), OPTIONS).services);
  assert.equal(before.get('default/zeta/80'), 10009);
  const after = ports(translate(snapshotOf([CLASS, zeta, gateway('alpha-9', '2024-06-01T00:00:00Z')]), OPTIONS).services);
  assert.equal(after.get('default/zeta/80'), 10009);
  assert.equal(after.get('default/alpha-9/80'), 10000, 'probes past the taken port and wraps');
});

test('a port pinned by its Service survives the deletion of the Gateway it was probed around', () => {
  const zeta = gateway('zeta', '2024-01-01T00:00:00Z');
  const alpha = gateway('alpha-9', '2024-06-01T00:00:00Z');
  const first = translate(snapshotOf([CLASS, zeta, alpha]), OPTIONS);
  const second = translate(snapshotOf([CLASS, alpha, ...applied(first.services)]), OPTIONS);
  assert.equal(ports(second.services).get('default/alpha-9/80'), 10000, 'not moved to its hashed port 10009');
  assert.deepEqual(second.ir.binds.map((b) => b.port), [10000]);
});

test('without its Service a Gateway falls back to the hashed port', () => {
  const alpha = gateway('alpha-9', '2024-06-01T00:00:00Z');
  assert.equal(ports(translate(snapshotOf([CLASS, alpha]), OPTIONS).services).get('default/alpha-9/80'), 10009);
});

test('translating again with the applied Services changes nothing (a fixpoint)', () => {
  const objects = [CLASS, gateway('a', '2024-01-01T00:00:00Z', [80, 8080]), gateway('b', '2024-02-01T00:00:00Z', [80], 'other')];
  const first = translate(snapshotOf(objects), OPTIONS);
  const second = translate(snapshotOf([...objects, ...applied(first.services)]), OPTIONS);
  assert.deepEqual(second.services, first.services);
  assert.deepEqual(second.ir, first.ir);
});

for (const withServices of [true, false]) {
  test(`adding many Gateways never moves the ports of existing ones (${withServices ? 'with' : 'without'} their Services)`, () => {
    // 120 Gateway ports in 200 container ports: plenty of hash collisions.
    const options: TranslateOptions = { ...OPTIONS, deployment: { ...OPTIONS.deployment!, portRange: { first: 20000, last: 20199 } } };
    let gateways: KubeObject[] = [];
    let services: KubeObject[] = [];
    let known = new Map<string, number>();
    for (let i = 0; i < 60; i++) {
      gateways = [...gateways, gateway(`gw-${59 - i}`, `2024-01-01T00:${String(i).padStart(2, '0')}:00Z`, [80, 443])];
      const result = translate(snapshotOf([CLASS, ...gateways, ...services]), options);
      const now = ports(result.services);
      for (const [key, port] of known) assert.equal(now.get(key), port, `${key} moved when gw-${59 - i} was added`);
      assert.equal(new Set(now.values()).size, now.size, 'container ports are distinct');
      known = now;
      if (withServices) services = applied(result.services);
    }
  });
}

test('generated Service names are DNS-1035 labels of at most 63 characters', () => {
  const names = ['a', 'x'.repeat(63), `${'dotted.name.'.repeat(20)}end`, '0starts-with-digit', 'ends-with-dash-'];
  for (const name of names) {
    for (const namespace of ['default', 'n'.repeat(63)]) {
      const result = translate(snapshotOf([CLASS, gateway(name, '2024-01-01T00:00:00Z', [80], namespace)]), OPTIONS);
      const svc = result.services![0];
      assert.match(svc.metadata.name, /^[a-z]([-a-z0-9]*[a-z0-9])?$/, svc.metadata.name);
      assert.ok(svc.metadata.name.length <= 63, svc.metadata.name);
      const label = svc.metadata.labels!['gateway.networking.k8s.io/gateway-name'];
      assert.ok(label.length <= 63 && /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(label), label);
    }
  }
});
