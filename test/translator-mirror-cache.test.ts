// RequestMirror backendRefs are looked up like backendRefs: through the translation context, so
// a remembered route is translated again when the mirror's Service or ReferenceGrant changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import type { KubeObject } from '../src/api/index.ts';
import type { IR } from '../src/ir/index.ts';
import { snapshotOf } from '../src/resources/index.ts';
import { TranslationCache, translate, type TranslateOptions } from '../src/translator/index.ts';

const OPTIONS: TranslateOptions = { controllerName: 'waygate.dev/gateway-controller', listenAddress: '127.0.0.1' };

const [gatewayClass, gateway, route, app, shadow, grant] = YAML.parseAllDocuments(`
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: waygate}
spec: {controllerName: waygate.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: app}
spec:
  gatewayClassName: waygate
  listeners: [{name: http, protocol: HTTP, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: app}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: app, port: 80}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, namespace: data, port: 80}, percent: 10}
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: app}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: shadow, namespace: data}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow, namespace: data}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: app}]
  to: [{group: '', kind: Service}]
`).map((d) => d.toJS() as KubeObject);

/** What a user sees: the route's ResolvedRefs reason and the mirrors its rule sends copies to. */
function observe(cache: TranslationCache, objects: KubeObject[]): { resolvedRefs: string; mirrors: unknown } {
  const snapshot = snapshotOf(objects);
  const result = translate(snapshot, OPTIONS, cache);
  assert.deepEqual(result, translate(snapshot, OPTIONS), 'the cache changes nothing');
  const status = result.statuses.find((s) => s.kind === 'HTTPRoute') as { status: { parents: { conditions: { type: string; reason: string }[] }[] } };
  const resolvedRefs = status.status.parents[0].conditions.find((c) => c.type === 'ResolvedRefs')!.reason;
  const ir: IR = result.ir;
  const mirrors = ir.binds[0].listeners[0].virtualHosts[0].routes[0].filters?.mirrors ?? [];
  return { resolvedRefs, mirrors };
}

test('a mirror follows its Service and ReferenceGrant through a translation cache', () => {
  const cache = new TranslationCache();
  const base = [gatewayClass, gateway, route, app, shadow, grant];
  const mirrored = [{ backend: 'service/data/shadow/80', numerator: 10, denominator: 100 }];
  assert.deepEqual(observe(cache, base), { resolvedRefs: 'ResolvedRefs', mirrors: mirrored });
  assert.deepEqual(observe(cache, [gatewayClass, gateway, route, app, shadow]), { resolvedRefs: 'RefNotPermitted', mirrors: [] }, 'grant removed');
  assert.deepEqual(observe(cache, base), { resolvedRefs: 'ResolvedRefs', mirrors: mirrored }, 'grant back');
  const otherPort = { ...shadow, spec: { ports: [{ name: 'http', port: 81 }] } } as KubeObject;
  assert.deepEqual(observe(cache, [gatewayClass, gateway, route, app, otherPort, grant]), { resolvedRefs: 'BackendNotFound', mirrors: [] }, 'port gone');
  assert.deepEqual(observe(cache, [gatewayClass, gateway, route, app, grant]), { resolvedRefs: 'BackendNotFound', mirrors: [] }, 'Service gone');
  assert.deepEqual(observe(cache, base), { resolvedRefs: 'ResolvedRefs', mirrors: mirrored }, 'all back');
});
