// A TranslationCache makes translation faster, never different: every translation with one
// equals the translation without, whatever the cache saw before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { KubeObject } from '../src/api/index.ts';
import { snapshotOf } from '../src/resources/index.ts';
import { TranslationCache, translate, type TranslateOptions } from '../src/translator/index.ts';
// The same seeded generator the balancers take, so a failing order reproduces.
import { seededRandom } from '../src/dataplane/lb/index.ts';

const TESTDATA = join(import.meta.dirname, '..', 'src', 'translator', 'testdata');
const OPTIONS: TranslateOptions = { controllerName: 'waygate.dev/gateway-controller', listenAddress: '0.0.0.0' };
const cases = readdirSync(TESTDATA).filter((f) => f.endsWith('.in.yaml') && !f.startsWith('kubernetes-')).map((f) => f.slice(0, -'.in.yaml'.length)).sort();

function loadObjects(name: string): KubeObject[] {
  const text = readFileSync(join(TESTDATA, `${name}.in.yaml`), 'utf8');
  return YAML.parseAllDocuments(text).map((d) => d.toJS()).filter((o) => o && typeof o === 'object') as KubeObject[];
}

function assertSameAsUncached(cache: TranslationCache, objects: readonly KubeObject[], what: string): void {
  const snapshot = snapshotOf(objects);
  assert.deepEqual(translate(snapshot, OPTIONS, cache), translate(snapshot, OPTIONS), what);
}

test('every golden case translates the same with a cache, as objects come and go', () => {
  const cache = new TranslationCache();
  const rand = seededRandom(7);
  for (const name of cases) {
    const objects = loadObjects(name);
    assertSameAsUncached(cache, objects, `${name}: first`);
    assertSameAsUncached(cache, objects, `${name}: again`);
    // The same objects (so remembered work applies) with others removed, restored or copied.
    for (let step = 0; step < 12; step++) {
      const subset = objects.filter(() => rand() < 0.75).map((o) => (rand() < 0.1 ? structuredClone(o) : o));
      assertSameAsUncached(cache, subset, `${name}: step ${step}`);
    }
  }
});

test('a remembered route is translated again when a Service, EndpointSlice, ReferenceGrant or Gateway it uses changes', () => {
  const [gateway, route, service, slice, grant] = YAML.parseAllDocuments(`
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: waygate
  listeners: [{name: http, protocol: HTTP, port: 8080, allowedRoutes: {namespaces: {from: All}}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs: [{name: gw, namespace: infra}]
  rules: [{backendRefs: [{name: svc, namespace: data, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: data}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-1, namespace: data, labels: {kubernetes.io/service-name: svc}}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints: [{addresses: [10.0.0.1]}]
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow, namespace: data}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: app}]
  to: [{group: '', kind: Service}]
`).map((d) => d.toJS() as KubeObject);
  const gatewayClass = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'waygate' }, spec: { controllerName: OPTIONS.controllerName } } as KubeObject;
  const base = [gatewayClass, gateway, route, service, slice, grant];
  const otherPort = { ...service, spec: { ports: [{ name: 'http', port: 81 }] } } as KubeObject;
  const otherEndpoint = { ...slice, endpoints: [{ addresses: ['10.0.0.2'] }] } as KubeObject;
  const withStatus = { ...structuredClone(gateway), status: { conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }] } } as KubeObject;
  const sameNamespaceOnly = structuredClone(gateway) as KubeObject & { spec: { listeners: { allowedRoutes?: unknown }[] } };
  sameNamespaceOnly.spec.listeners[0].allowedRoutes = { namespaces: { from: 'Same' } };
  const cache = new TranslationCache();
  const steps: [string, KubeObject[]][] = [
    ['start', base],
    ['the Service loses the port', [gatewayClass, gateway, route, otherPort, slice, grant]],
    ['the Service has it again', base],
    ['the ReferenceGrant is gone', [gatewayClass, gateway, route, service, slice]],
    ['the ReferenceGrant is back', base],
    ['the endpoint changes', [gatewayClass, gateway, route, service, otherEndpoint, grant]],
    ['the Service is gone', [gatewayClass, gateway, route, slice, grant]],
    ['everything is back', base],
    ['the Gateway is a new object with a status', [gatewayClass, withStatus, route, service, slice, grant]],
    ['the Gateway admits routes of its own namespace only', [gatewayClass, sameNamespaceOnly, route, service, slice, grant]],
    ['the Gateway is back', base],
  ];
  const outputs = new Set<string>();
  for (const [what, objects] of steps) {
    assertSameAsUncached(cache, objects, what);
    outputs.add(JSON.stringify(translate(snapshotOf(objects), OPTIONS, cache)));
  }
  assert.equal(outputs.size, 6, 'the steps give six different translations');
});

test('route-only changes, one after another, translate the same with a cache as without', () => {
  const rand = seededRandom(11);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)];
  const fixed = YAML.parseAllDocuments(`
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: waygate}
spec: {controllerName: waygate.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: waygate
  listeners:
    - {name: any, protocol: HTTP, port: 8080}
    - {name: shop, protocol: HTTP, port: 8080, hostname: "*.shop.example"}
    - {name: other, protocol: HTTP, port: 9090}
---
apiVersion: v1
kind: Service
metadata: {name: a, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: default}
spec: {ports: [{name: http, port: 80}]}
`).map((d) => d.toJS() as KubeObject);
  const route = (i: number): KubeObject => {
    const parents = [{ name: 'gw', sectionName: pick(['any', 'shop', 'other', undefined]) }];
    if (rand() < 0.3) parents.push({ name: pick(['gw', 'missing']), sectionName: pick(['any', 'other', undefined]) });
    const hostnames = rand() < 0.5 ? [] : [pick(['x.shop.example', 'y.example', '*.shop.example', 'z.shop.example'])];
    return {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute',
      metadata: { name: `r${i}`, namespace: 'default', generation: 1 },
      spec: {
        parentRefs: parents.map((p) => (p.sectionName === undefined ? { name: p.name } : p)),
        hostnames,
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: `/p${Math.floor(rand() * 5)}` } }], backendRefs: [{ name: pick(['a', 'b', 'c']), port: 80 }] }],
      },
    } as unknown as KubeObject;
  };
  const routes = new Map<number, KubeObject>();
  for (let i = 0; i < 30; i++) routes.set(i, route(i));
  const cache = new TranslationCache();
  for (let step = 0; step < 300; step++) {
    const i = Math.floor(rand() * 40);
    if (routes.has(i) && rand() < 0.2) routes.delete(i);
    else routes.set(i, route(i));
    assertSameAsUncached(cache, [...fixed, ...routes.values()], `step ${step}`);
  }
});
