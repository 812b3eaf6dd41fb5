// deploy/, the Helm chart, the Dockerfile and the examples, checked offline: every object
// against its schema, the chart against the plain manifests, RBAC against the calls the code
// makes, and the pod's security and shutdown settings against what Waygate does.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { buildProgram } from '../src/cli/index.ts';
import { KUBERNETES_KINDS } from '../src/providers/kubernetes/kinds.ts';
import { STATUS_RESOURCES } from '../src/providers/kubernetes/status-resources.ts';
import { supportedKind } from '../src/resources/index.ts';
import { DEFAULT_LIMITS } from '../src/dataplane/index.ts';
import { findHelm, runHelm } from './helpers/helm.ts';
import { validateBuiltin, validateCustomResource, type KubeObject } from './helpers/kube-schema.ts';

const ROOT = resolve(import.meta.dirname, '..');
const DEPLOY = join(ROOT, 'deploy');
const CHART = join(DEPLOY, 'helm/waygate');
const CRDS = resolve(ROOT, '../shared/gateway-api/crds/standard');
/** Waygate's own CRDs. */
const OWN_CRDS = join(DEPLOY, 'crds');
const NAMESPACE = 'waygate-system';
const KUBE_VERSION = '1.31.0';
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string> };

type Rule = { apiGroups?: string[]; resources?: string[]; verbs: string[] };
type Container = {
  name: string; image: string; args: string[]; env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports: { name: string; containerPort: number }[]; securityContext: Record<string, unknown>;
  readinessProbe: { httpGet: { path: string; port: string | number } }; livenessProbe: { httpGet: { path: string; port: string | number } };
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
};
type PodSpec = {
  serviceAccountName: string; terminationGracePeriodSeconds: number; securityContext: Record<string, unknown>; containers: Container[];
  topologySpreadConstraints?: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[];
  nodeSelector?: unknown; tolerations?: unknown; affinity?: unknown;
};
type Deployment = KubeObject & { spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } } };

function readManifests(file: string): KubeObject[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as KubeObject).filter(Boolean);
}

const plain = readManifests(join(DEPLOY, 'waygate.yaml'));
const find = <T extends KubeObject = KubeObject>(objects: KubeObject[], kind: string): T => {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0] as T;
};
const container = (d: Deployment): Container => d.spec.template.spec.containers[0];

/** The CRD file of each Gateway API kind in the shared v1.6.1 bundle, when it is beside the repo. */
function crdFiles(): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(CRDS)) return files;
  for (const name of readdirSync(CRDS)) {
    const kind = /\n    kind: (\w+)\n/.exec(readFileSync(join(CRDS, name), 'utf8'))?.[1];
    if (kind && name.startsWith('gateway.networking.k8s.io_')) files.set(kind, join(CRDS, name));
  }
  return files;
}
const CRD_FILES = crdFiles();

type Crd = KubeObject & { spec: { group: string; scope: string; names: { kind: string; plural: string }; versions: { name: string; served: boolean; storage: boolean; subresources?: { status?: unknown }; schema: { openAPIV3Schema: Record<string, unknown> } }[] } };
/** deploy/crds/<group>_<plural>.yaml, by kind. */
const OWN_CRD_FILES = new Map(readdirSync(OWN_CRDS).filter((f) => f.endsWith('.yaml')).map((f) => {
  const crd = readManifests(join(OWN_CRDS, f))[0] as Crd;
  return [crd.spec.names.kind, join(OWN_CRDS, f)] as const;
}));
const NO_CRDS = CRD_FILES.size === 0 ? `the Gateway API CRDs are not at ${CRDS} (a checkout without shared/ beside it)` : false;

/** Schema errors of each object, by kind/name; Gateway API kinds only where the CRDs are present. */
async function schemaErrors(objects: KubeObject[]): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const obj of objects) {
    const id = `${obj.kind}/${obj.metadata.name}`;
    if (obj.apiVersion.startsWith('gateway.networking.k8s.io/')) {
      const crd = CRD_FILES.get(obj.kind);
      if (crd) out[id] = validateCustomResource(obj, crd);
    } else if (obj.apiVersion.startsWith('waygate.dev/')) {
      const crd = OWN_CRD_FILES.get(obj.kind);
      out[id] = crd ? validateCustomResource(obj, crd) : [`no CRD for ${obj.kind} in deploy/crds/`];
    } else out[id] = await validateBuiltin(obj);
  }
  return out;
}

function assertNoSchemaErrors(errors: Record<string, string[]>): void {
  const bad = Object.entries(errors).filter(([, e]) => e.length > 0);
  assert.deepEqual(bad, [], bad.map(([id, e]) => `${id}:\n  ${e.join('\n  ')}`).join('\n'));
}

describe('deploy/waygate.yaml', () => {
  test('every built-in object is valid for its kind in the Kubernetes schema, unknown fields included', async () => {
    assert.deepEqual(plain.map((o) => o.kind), ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Deployment', 'PodDisruptionBudget', 'GatewayClass']);
    assertNoSchemaErrors(await schemaErrors(plain.filter((o) => o.kind !== 'GatewayClass')));
  });

  test('the validator itself rejects unknown fields, wrong types and missing required fields', async () => {
    const bad = structuredClone(find<Deployment>(plain, 'Deployment')) as Deployment & { spec: Record<string, unknown> };
    (container(bad) as unknown as Record<string, unknown>).readinesProbe = {};
    bad.spec.replicas = 'two' as unknown as number;
    delete (bad.spec as Partial<Deployment['spec']>).selector;
    const errors = (await validateBuiltin(bad)).join('\n');
    assert.match(errors, /unknown field "spec\.template\.spec\.containers\[0\]\.readinesProbe"/);
    assert.match(errors, /replicas must be integer/);
    assert.match(errors, /required property selector/);
  });

  test('the GatewayClass is valid in the Gateway API v1.6.1 CRD schema and names Waygate\'s controller', { skip: NO_CRDS }, () => {
    const gatewayClass = find(plain, 'GatewayClass') as KubeObject & { spec: { controllerName: string } };
    assert.deepEqual(validateCustomResource(gatewayClass, CRD_FILES.get('GatewayClass')!), []);
    assert.equal(gatewayClass.spec.controllerName, 'waygate.dev/gateway-controller');
    const typo = { ...gatewayClass, spec: { controllerNam: 'x' } };
    assert.match(validateCustomResource(typo, CRD_FILES.get('GatewayClass')!).join('\n'), /unknown field "spec\.controllerNam"/);
  });

  test('namespaced objects live in waygate-system; the image and chart versions are package.json\'s', () => {
    for (const o of plain) if (!['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'GatewayClass'].includes(o.kind)) assert.equal(o.metadata.namespace, NAMESPACE, o.kind);
    assert.equal(container(find<Deployment>(plain, 'Deployment')).image, `ghcr.io/waygate-dev/waygate:${PACKAGE.version}`);
    const chart = parseAllDocuments(readFileSync(join(CHART, 'Chart.yaml'), 'utf8'))[0].toJS() as { version: string; appVersion: string };
    assert.equal(chart.version, PACKAGE.version);
    assert.equal(chart.appVersion, PACKAGE.version);
  });
});

// Waygate's CRDs ---------------------------------------------------------------------------------

/** Schema nodes without a type, where a structural schema needs one (the root's metadata excepted). */
function untyped(schema: unknown, path: string): string[] {
  if (typeof schema !== 'object' || schema === null) return [];
  const node = schema as { type?: unknown; properties?: Record<string, unknown>; items?: unknown; 'x-kubernetes-int-or-string'?: boolean };
  const out = node.type === undefined && !node['x-kubernetes-int-or-string'] ? [path || '(root)'] : [];
  for (const [name, child] of Object.entries(node.properties ?? {})) out.push(...untyped(child, `${path}.${name}`));
  if (node.items) out.push(...untyped(node.items, `${path}[]`));
  return out;
}

describe('deploy/crds', () => {
  const crds = [...OWN_CRD_FILES.values()].map((f) => readManifests(f)[0] as Crd);

  test('each CRD is a valid CustomResourceDefinition with a structural schema, a status subresource and descriptions', async () => {
    assert.ok(crds.length > 0);
    for (const crd of crds) {
      assertNoSchemaErrors({ [crd.metadata.name]: await validateBuiltin(crd) });
      assert.equal(crd.metadata.name, `${crd.spec.names.plural}.${crd.spec.group}`);
      for (const version of crd.spec.versions) {
        const schema = version.schema.openAPIV3Schema as { properties: { spec: { properties: Record<string, { description?: string }> } } };
        assert.deepEqual(untyped(schema, ''), [], `${crd.metadata.name} ${version.name}: every node has a type`);
        assert.ok(version.subresources?.status, 'a status subresource');
        const bare = Object.entries(schema.properties.spec.properties).filter(([, p]) => !p.description).map(([k]) => k);
        assert.deepEqual(bare, [], 'every spec field says what it means');
      }
    }
  });

  test('the code reads and writes each CRD kind by its group, version and plural', () => {
    for (const crd of crds) {
      const storage = crd.spec.versions.find((v) => v.storage)!;
      const apiVersion = `${crd.spec.group}/${storage.name}`;
      const kind = KUBERNETES_KINDS.find((k) => k.kind === crd.spec.names.kind);
      assert.deepEqual(kind && { apiVersion: kind.apiVersion, plural: kind.plural, namespaced: kind.namespaced }, { apiVersion, plural: crd.spec.names.plural, namespaced: crd.spec.scope === 'Namespaced' });
      assert.equal(supportedKind(apiVersion, crd.spec.names.kind), crd.spec.names.kind, 'the file provider and the snapshot take it');
      const status = STATUS_RESOURCES.find((r) => r.kind === crd.spec.names.kind);
      assert.deepEqual(status && [status.group, status.version, status.plural], [crd.spec.group, storage.name, crd.spec.names.plural]);
    }
  });

  test('RBAC reads each CRD kind and writes its status', () => {
    const { cluster } = rbacOf(plain);
    for (const crd of crds) {
      const group = crd.spec.group;
      for (const verb of ['get', 'list', 'watch']) assert.ok(grants(cluster, { group, resource: crd.spec.names.plural, verb }), `${verb} ${crd.spec.names.plural}`);
      for (const verb of ['get', 'update', 'patch']) assert.ok(grants(cluster, { group, resource: `${crd.spec.names.plural}/status`, verb }), `${verb} ${crd.spec.names.plural}/status`);
      for (const verb of ['create', 'update', 'patch', 'delete']) assert.ok(!grants(cluster, { group, resource: crd.spec.names.plural, verb }), `no ${verb} on ${crd.spec.names.plural}`);
    }
  });

  test('the schema rejects what the translator would reject, and unknown fields', () => {
    const file = OWN_CRD_FILES.get('BackendTrafficPolicy')!;
    const policy = (spec: Record<string, unknown>) => ({
      apiVersion: 'waygate.dev/v1alpha1', kind: 'BackendTrafficPolicy', metadata: { name: 'p', namespace: 'default' },
      spec: { targetRefs: [{ group: '', kind: 'Service', name: 'web' }], ...spec },
    });
    assert.deepEqual(validateCustomResource(policy({ loadBalancer: { type: 'RingHash', hashKey: { type: 'Header', name: 'x-user' } } }), file), []);
    const errors = (spec: Record<string, unknown>) => validateCustomResource(policy(spec), file).join('\n');
    assert.match(errors({ loadBalancer: { type: 'Fastest' } }), /spec\.loadBalancer\.type: must be equal to one of the allowed values/);
    assert.match(errors({ retries: { attempts: 20 } }), /spec\.retries\.attempts: must be <= 10/);
    assert.match(errors({ sessionPersistence: { ttl: 'soon' } }), /spec\.sessionPersistence\.ttl: must match pattern/);
    assert.match(errors({ slowStart: {} }), /must have required property 'window'/);
    assert.match(errors({ zoneAware: { preferClose: true } }), /unknown field "spec\.zoneAware\.preferClose"/);
    assert.match(validateCustomResource({ ...policy({}), spec: { targetRefs: [{ group: 'apps', kind: 'Deployment', name: 'web' }] } }, file).join('\n'), /targetRefs\.0\.kind: must be equal to one of the allowed values/);
  });
});

// RBAC ---------------------------------------------------------------------------------------

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
/** Gateway API kinds Waygate reads, and whether each has a status subresource. */
const GATEWAY_KINDS: Record<string, { plural: string; status: boolean }> = {
  GatewayClass: { plural: 'gatewayclasses', status: true },
  Gateway: { plural: 'gateways', status: true },
  HTTPRoute: { plural: 'httproutes', status: true },
  GRPCRoute: { plural: 'grpcroutes', status: true },
  TLSRoute: { plural: 'tlsroutes', status: true },
  TCPRoute: { plural: 'tcproutes', status: true },
  UDPRoute: { plural: 'udproutes', status: true },
  ReferenceGrant: { plural: 'referencegrants', status: false },
  BackendTLSPolicy: { plural: 'backendtlspolicies', status: true },
  ListenerSet: { plural: 'listenersets', status: true },
};
/** Kinds of the typed client-node APIs (readNamespacedLease, createNamespacedService, …). */
const TYPED_KINDS: Record<string, { group: string; plural: string }> = {
  Lease: { group: 'coordination.k8s.io', plural: 'leases' },
  Service: { group: '', plural: 'services' },
  EndpointSlice: { group: 'discovery.k8s.io', plural: 'endpointslices' },
  Endpoints: { group: '', plural: 'endpoints' },
  Secret: { group: '', plural: 'secrets' },
  ConfigMap: { group: '', plural: 'configmaps' },
  Namespace: { group: '', plural: 'namespaces' },
  Event: { group: '', plural: 'events' },
  Pod: { group: '', plural: 'pods' },
  Node: { group: '', plural: 'nodes' },
};
/** What Waygate may do in its own namespace only (the Role), never cluster-wide. */
const OWN_NAMESPACE_ONLY = [
  ...['get', 'list', 'watch', 'create', 'update', 'patch'].map((verb) => ({ group: 'coordination.k8s.io', resource: 'leases', verb })),
  ...['create', 'update', 'patch', 'delete'].map((verb) => ({ group: '', resource: 'services', verb })),
];
const METHOD_VERBS: Record<string, string> = { get: 'get', read: 'get', list: 'list', watch: 'watch', create: 'create', replace: 'update', patch: 'patch', delete: 'delete' };

type Access = { group: string; resource: string; verb: string };
const grants = (rules: Rule[], a: Access): boolean =>
  rules.some((r) => (r.apiGroups ?? []).includes(a.group) && (r.resources ?? []).includes(a.resource) && r.verbs.includes(a.verb));
const describeAccess = (a: Access) => `${a.verb} ${a.resource}${a.group ? `.${a.group}` : ''}`;

function rbacOf(objects: KubeObject[]): { cluster: Rule[]; own: Rule[] } {
  return { cluster: find<KubeObject & { rules: Rule[] }>(objects, 'ClusterRole').rules, own: find<KubeObject & { rules: Rule[] }>(objects, 'Role').rules };
}

function walkTs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? walkTs(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/**
 * The API calls of the Kubernetes provider, as RBAC sees them: typed client-node methods
 * (verb + kind), custom-object methods applied to each resource registry the calling file uses
 * (exported arrays of { group or apiVersion, plural }: STATUS_RESOURCES, KUBERNETES_KINDS),
 * API paths written out, and list+watch on every registered resource (what informers need).
 */
/** { group, plural } of a registry entry that names a resource by group or by apiVersion. */
function registryEntry(v: unknown): { group: string; plural: string } | undefined {
  const e = v as { group?: unknown; apiVersion?: unknown; plural?: unknown } | null;
  if (typeof e?.plural !== 'string') return undefined;
  if (typeof e.group === 'string') return { group: e.group, plural: e.plural };
  if (typeof e.apiVersion === 'string') return { group: e.apiVersion.includes('/') ? e.apiVersion.split('/')[0] : '', plural: e.plural };
  return undefined;
}

async function providerAccesses(): Promise<{ accesses: Access[]; unknownKinds: string[] }> {
  const dir = join(ROOT, 'src/providers/kubernetes');
  const files = walkTs(dir).filter((f) => !f.includes('/testdata/'));
  const registries = new Map<string, { group: string; plural: string }[]>();
  for (const file of files) {
    const module = (await import(file)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module)) {
      const entries = Array.isArray(value) ? value.map(registryEntry) : [];
      if (entries.length > 0 && entries.every(Boolean)) registries.set(name, entries as { group: string; plural: string }[]);
    }
  }
  const accesses: Access[] = [];
  const unknownKinds: string[] = [];
  for (const entries of registries.values()) for (const e of entries) for (const verb of ['list', 'watch']) accesses.push({ group: e.group, resource: e.plural, verb });
  const call = /\.(get|read|list|watch|create|replace|patch|delete)(Collection)?(Namespaced|Cluster)?([A-Z][A-Za-z0-9]*?)(ForAllNamespaces)?(Status)?\(/g;
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const used = [...registries.entries()].filter(([name]) => new RegExp(`\\b${name}\\b`).test(text)).flatMap(([, entries]) => entries);
    for (const m of text.matchAll(call)) {
      const [, method, collection, scope, kind, allNamespaces, status] = m;
      const verb = collection ? 'deletecollection' : METHOD_VERBS[method];
      const sub = status ? '/status' : '';
      if (kind === 'CustomObject') for (const e of used) accesses.push({ group: e.group, resource: e.plural + sub, verb });
      else if (TYPED_KINDS[kind]) accesses.push({ group: TYPED_KINDS[kind].group, resource: TYPED_KINDS[kind].plural + sub, verb });
      else if (scope || allNamespaces) unknownKinds.push(`${relative(ROOT, file)}: ${m[0]}`);
    }
    for (const m of text.matchAll(/['"`]\/apis?\/(?:([a-z0-9.-]+)\/)?v\d\w*\/(?:namespaces\/[^/'"`]+\/)?([a-z]+)['"`/?]/g)) {
      for (const verb of ['list', 'watch']) accesses.push({ group: m[1] ?? '', resource: m[2], verb });
    }
  }
  return { accesses, unknownKinds };
}

describe('RBAC', () => {
  const { cluster, own } = rbacOf(plain);

  test('reads every Gateway API kind and writes the status of each kind that has a status subresource', () => {
    for (const { plural, status } of Object.values(GATEWAY_KINDS)) {
      for (const verb of ['get', 'list', 'watch']) assert.ok(grants(cluster, { group: GATEWAY_GROUP, resource: plural, verb }), `${verb} ${plural}`);
      for (const verb of ['get', 'update', 'patch']) assert.equal(grants(cluster, { group: GATEWAY_GROUP, resource: `${plural}/status`, verb }), status, `${verb} ${plural}/status`);
    }
    for (const [resources, verbs] of [[['services', 'secrets', 'configmaps', 'namespaces'], ['get', 'list', 'watch']], [['events'], ['create', 'patch']]] as const) {
      for (const resource of resources) for (const verb of verbs) assert.ok(grants(cluster, { group: '', resource, verb }), `${verb} ${resource}`);
    }
    for (const verb of ['create', 'patch']) assert.ok(grants(cluster, { group: 'events.k8s.io', resource: 'events', verb }));
    for (const verb of ['get', 'list', 'watch']) assert.ok(grants(cluster, { group: 'discovery.k8s.io', resource: 'endpointslices', verb }));
    for (const a of OWN_NAMESPACE_ONLY) assert.ok(grants(own, a), `Role: ${describeAccess(a)}`);
  });

  test('the Gateway API kinds and their status subresources are those of the v1.6.1 CRDs', { skip: NO_CRDS }, () => {
    const fromCrds: Record<string, { plural: string; status: boolean }> = {};
    for (const [kind, file] of CRD_FILES) {
      const crd = parseAllDocuments(readFileSync(file, 'utf8'))[0].toJS() as { spec: { group: string; names: { plural: string }; versions: { storage: boolean; subresources?: { status?: unknown } }[] } };
      assert.equal(crd.spec.group, GATEWAY_GROUP);
      fromCrds[kind] = { plural: crd.spec.names.plural, status: Boolean(crd.spec.versions.find((v) => v.storage)?.subresources?.status) };
    }
    assert.deepEqual(fromCrds, GATEWAY_KINDS);
  });

  test('grants every call the Kubernetes provider makes', async () => {
    const { accesses, unknownKinds } = await providerAccesses();
    assert.deepEqual(unknownKinds, [], 'calls on kinds this test does not know: add them to TYPED_KINDS');
    const missing = accesses.filter((a) => !grants([...cluster, ...own], a)).map(describeAccess);
    assert.deepEqual([...new Set(missing)], [], 'the provider calls the API in ways RBAC does not allow');
    const ownOnly = accesses.filter((a) => OWN_NAMESPACE_ONLY.some((o) => o.group === a.group && o.resource === a.resource && o.verb === a.verb));
    for (const a of ownOnly) assert.ok(grants(own, a), `${describeAccess(a)} belongs in the Role`);
  });

  test('grants nothing more: no wildcards, secrets read-only, Service writes and Leases in its namespace only', () => {
    for (const r of [...cluster, ...own]) for (const v of [...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs]) assert.notEqual(v, '*');
    for (const verb of ['create', 'update', 'patch', 'delete']) assert.ok(!grants(cluster, { group: '', resource: 'secrets', verb }), `${verb} secrets`);
    for (const a of OWN_NAMESPACE_ONLY) assert.ok(!grants(cluster, a), `ClusterRole: ${describeAccess(a)}`);
    for (const verb of ['escalate', 'bind', 'impersonate']) assert.ok(![...cluster, ...own].some((r) => r.verbs.includes(verb)));
  });

  test('the roles are bound to the Deployment\'s ServiceAccount in its namespace', () => {
    const sa = find(plain, 'ServiceAccount').metadata.name;
    assert.equal(find<Deployment>(plain, 'Deployment').spec.template.spec.serviceAccountName, sa);
    for (const [binding, role] of [['ClusterRoleBinding', 'ClusterRole'], ['RoleBinding', 'Role']]) {
      const b = find(plain, binding) as KubeObject & { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] };
      assert.deepEqual(b.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: role, name: find(plain, role).metadata.name });
      assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: sa, namespace: NAMESPACE }]);
    }
  });
});

// The Deployment --------------------------------------------------------------------------------

/** `waygate serve`'s own parser run on the container's arguments: unknown flags and bad values throw. */
function parseServeArgs(args: string[]): Record<string, unknown> {
  assert.equal(args[0], 'serve');
  const serve = buildProgram('waygate', []).commands.find((c) => c.name() === 'serve')!;
  serve.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  const { operands, unknown } = serve.parseOptions(args.slice(1));
  assert.deepEqual({ operands, unknown }, { operands: [], unknown: [] }, `waygate serve does not know ${unknown.join(' ')}`);
  return serve.opts();
}

function checkDeployment(objects: KubeObject[]): void {
  const deployment = find<Deployment>(objects, 'Deployment');
  const pod = deployment.spec.template.spec;
  const c = container(deployment);
  // Pod security ("restricted").
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.ok(Number(pod.securityContext.runAsUser) > 0, 'a non-root uid');
  assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
  assert.equal(c.securityContext.allowPrivilegeEscalation, false);
  assert.equal(c.securityContext.readOnlyRootFilesystem, true);
  assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
  assert.ok(!('privileged' in c.securityContext) && !('hostNetwork' in pod));
  // Arguments, as waygate serve reads them.
  const opts = parseServeArgs(c.args);
  assert.equal(opts.kubernetes, true);
  assert.equal(opts.adminAddress, '127.0.0.1:9901', 'the admin API stays on loopback');
  assert.deepEqual(opts.proxySelector, deployment.spec.selector.matchLabels, '--proxy-selector selects the pods');
  for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) assert.equal(deployment.spec.template.metadata.labels[k], v);
  assert.equal(opts.leaderElectionNamespace, '$(POD_NAMESPACE)');
  for (const [name, fieldPath] of [['POD_NAME', 'metadata.name'], ['POD_NAMESPACE', 'metadata.namespace']]) {
    assert.equal(c.env.find((e) => e.name === name)?.valueFrom?.fieldRef?.fieldPath, fieldPath, name);
  }
  // Probes on the health port, which is the one --health-address serves.
  const healthPort = Number(/:(\d+)$/.exec(String(opts.healthAddress))?.[1]);
  const port = c.ports.find((p) => p.containerPort === healthPort);
  assert.ok(port, `a container port for --health-address ${String(opts.healthAddress)}`);
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: port.name });
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: port.name });
  // Drain: endpoints go first (preStop), then SIGTERM drains within the grace period.
  const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
  assert.ok(preStop >= 3, 'preStop sleeps a few seconds');
  assert.ok(pod.terminationGracePeriodSeconds > preStop + DEFAULT_LIMITS.drainTimeoutMs / 1000, 'grace period > preStop + drain');
  // Availability.
  assert.ok(deployment.spec.replicas >= 2);
  assert.deepEqual(pod.topologySpreadConstraints?.map((t) => t.topologyKey), ['topology.kubernetes.io/zone', 'kubernetes.io/hostname']);
  for (const t of pod.topologySpreadConstraints ?? []) assert.deepEqual(t.labelSelector.matchLabels, deployment.spec.selector.matchLabels);
  const pdb = find(objects, 'PodDisruptionBudget') as KubeObject & { spec: { minAvailable: number; selector: unknown } };
  assert.equal(pdb.spec.minAvailable, 1);
  assert.deepEqual(pdb.spec.selector, deployment.spec.selector);
}

describe('the Deployment', () => {
  test('runs non-root, read-only, unprivileged; probes, arguments, drain and spread are consistent', () => {
    checkDeployment(plain);
  });

  test('the uid is the Dockerfile\'s USER', () => {
    const user = /^USER\s+(\d+)/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'))?.[1];
    assert.equal(find<Deployment>(plain, 'Deployment').spec.template.spec.securityContext.runAsUser, Number(user));
  });
});

// The Helm chart --------------------------------------------------------------------------------

const helm = findHelm();
const NO_HELM = 'skip' in helm ? helm.skip : false;
const scratch = mkdtempSync(join(tmpdir(), 'waygate-deploy-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function render(values?: Record<string, unknown>, release = 'waygate', namespace = NAMESPACE): KubeObject[] {
  const args = ['template', release, CHART, '--namespace', namespace, '--kube-version', KUBE_VERSION];
  if (values) {
    const file = join(scratch, `values-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, stringify(values));
    args.push('--values', file);
  }
  return parseAllDocuments(runHelm((helm as { path: string }).path, args)).map((d) => d.toJS() as KubeObject).filter(Boolean);
}

/** Helm's own labels, which the plain manifests do not carry. */
function withoutHelmLabels(o: KubeObject): KubeObject {
  const copy = structuredClone(o);
  delete copy.metadata.labels?.['helm.sh/chart'];
  delete copy.metadata.labels?.['app.kubernetes.io/managed-by'];
  return copy;
}
const byId = (objects: KubeObject[]) => Object.fromEntries(objects.map((o) => [`${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));

describe('the Helm chart (rendered by Helm 3.8.1)', { skip: NO_HELM }, () => {
  test('ships Waygate\'s CRDs in crds/, byte for byte those of deploy/crds/', () => {
    const inChart = readdirSync(join(CHART, 'crds')).sort();
    assert.deepEqual(inChart, readdirSync(OWN_CRDS).sort());
    for (const f of inChart) assert.equal(readFileSync(join(CHART, 'crds', f), 'utf8'), readFileSync(join(OWN_CRDS, f), 'utf8'), f);
  });

  test('passes helm lint --strict', () => {
    assert.match(runHelm((helm as { path: string }).path, ['lint', '--strict', CHART]), /1 chart\(s\) linted, 0 chart\(s\) failed/);
  });

  test('renders the plain manifests with its default values (less the Namespace and Helm\'s labels)', () => {
    const rendered = render();
    for (const o of rendered) assert.equal(o.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', `${o.kind} carries Helm's labels`);
    assert.deepEqual(byId(rendered.map(withoutHelmLabels)), byId(plain.filter((o) => o.kind !== 'Namespace')));
  });

  test('renders valid objects with every value changed, each in its place', async () => {
    const rendered = render({
      replicaCount: 3,
      image: { repository: 'registry.example/waygate', tag: 'dev', pullPolicy: 'Always' },
      imagePullSecrets: [{ name: 'pull' }],
      controllerName: 'example.com/gateway',
      gatewayClass: { name: 'edge' },
      gatewayServiceType: 'NodePort',
      watchNamespace: 'apps',
      watchLabelSelector: 'team in (a,b)',
      workers: 4,
      healthPort: 8081,
      extraArgs: ['--listen-address=::'],
      extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=512' }],
      preStopSleepSeconds: 10,
      terminationGracePeriodSeconds: 60,
      podAnnotations: { 'prometheus.io/scrape': 'false' },
      podLabels: { team: 'edge' },
      priorityClassName: 'system-cluster-critical',
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'edge', operator: 'Exists' }] }] } } },
      podDisruptionBudget: { minAvailable: 1 },
    }, 'edge', 'gateways');
    assertNoSchemaErrors(await schemaErrors(rendered));
    checkDeployment(rendered);
    const deployment = find<Deployment>(rendered, 'Deployment');
    const c = container(deployment);
    assert.equal(deployment.metadata.name, 'edge-waygate');
    assert.equal(deployment.metadata.namespace, 'gateways');
    assert.equal(deployment.spec.replicas, 3);
    assert.equal(c.image, 'registry.example/waygate:dev');
    const opts = parseServeArgs(c.args);
    assert.equal(opts.controllerName, 'example.com/gateway');
    assert.equal(opts.gatewayServiceType, 'NodePort');
    assert.equal(opts.watchNamespace, 'apps');
    assert.equal(opts.watchLabelSelector, 'team in (a,b)');
    assert.equal(opts.workers, 4);
    assert.equal(opts.healthAddress, '0.0.0.0:8081');
    assert.equal(opts.listenAddress, '::');
    assert.equal(opts.leaderElectionId, 'edge-waygate');
    assert.deepEqual(opts.proxySelector, { 'app.kubernetes.io/name': 'waygate', 'app.kubernetes.io/instance': 'edge' });
    assert.equal(c.lifecycle?.preStop?.sleep?.seconds, 10);
    assert.equal(deployment.spec.template.metadata.annotations?.['prometheus.io/scrape'], 'false');
    assert.equal(deployment.spec.template.metadata.labels.team, 'edge');
    assert.deepEqual(deployment.spec.template.spec.nodeSelector, { 'kubernetes.io/os': 'linux' });
    assert.equal((deployment.spec.template.spec.tolerations as unknown[]).length, 1);
    assert.ok(deployment.spec.template.spec.affinity);
    const gatewayClass = find(rendered, 'GatewayClass') as KubeObject & { spec: { controllerName: string } };
    assert.deepEqual([gatewayClass.metadata.name, gatewayClass.spec.controllerName], ['edge', 'example.com/gateway']);
    for (const kind of ['RoleBinding', 'ClusterRoleBinding']) {
      assert.deepEqual((find(rendered, kind) as KubeObject & { subjects: unknown[] }).subjects, [{ kind: 'ServiceAccount', name: 'edge-waygate', namespace: 'gateways' }]);
    }
  });

  test('refuses a grace period that does not cover preStop plus the drain, and unknown values', () => {
    assert.throws(() => render({ terminationGracePeriodSeconds: 30 }), /must exceed preStopSleepSeconds/);
    assert.throws(() => render({ replicas: 3 }), /Additional property replicas is not allowed/);
    assert.throws(() => render({ gatewayServiceType: 'Ingress' }), /gatewayServiceType/);
  });

  test('leaves out the GatewayClass, PDB, spread and ServiceAccount when turned off', () => {
    const rendered = render({ gatewayClass: { create: false }, podDisruptionBudget: { enabled: false }, topologySpread: { enabled: false }, serviceAccount: { create: false, name: 'mine' } });
    assert.deepEqual(rendered.map((o) => o.kind).sort(), ['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Role', 'RoleBinding']);
    const pod = find<Deployment>(rendered, 'Deployment').spec.template.spec;
    assert.equal(pod.serviceAccountName, 'mine');
    assert.equal(pod.topologySpreadConstraints, undefined);
  });
});

// Examples --------------------------------------------------------------------------------------

describe('deploy/examples', () => {
  const examples = readdirSync(join(DEPLOY, 'examples')).filter((f) => f.endsWith('.yaml')).flatMap((f) => readManifests(join(DEPLOY, 'examples', f)));

  test('every object is valid in its schema', { skip: NO_CRDS }, async () => {
    assertNoSchemaErrors(await schemaErrors(examples));
  });

  test('the Gateway uses the waygate class, the route attaches to it and sends to the echo Service', () => {
    const gateway = find(examples, 'Gateway') as KubeObject & { spec: { gatewayClassName: string; listeners: { name: string }[] } };
    const route = find(examples, 'HTTPRoute') as KubeObject & { spec: { parentRefs: { name: string; sectionName: string }[]; rules: { backendRefs: { name: string; port: number }[] }[] } };
    const service = find(examples, 'Service') as KubeObject & { spec: { ports: { port: number }[] } };
    assert.equal(gateway.spec.gatewayClassName, find(plain, 'GatewayClass').metadata.name);
    assert.deepEqual(route.spec.parentRefs, [{ name: gateway.metadata.name, sectionName: gateway.spec.listeners[0].name }]);
    assert.deepEqual(route.spec.rules[0].backendRefs, [{ name: service.metadata.name, port: service.spec.ports[0].port }]);
    assert.equal(new Set([gateway, route, service].map((o) => o.metadata.namespace)).size, 1);
  });
});

// The image -------------------------------------------------------------------------------------

/** The Dockerfile's instructions by stage: [instruction, arguments] with continuations joined. */
function dockerStages(): [string, string][][] {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: [string, string][][] = [];
  for (const line of lines) {
    const [instruction, rest] = [line.split(/\s/, 1)[0].toUpperCase(), line.slice(line.search(/\s/) + 1).trim()];
    if (instruction === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args.set(k, v ?? '');
    } else if (instruction === 'FROM') stages.push([[instruction, rest.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? '')]]);
    else stages.at(-1)?.push([instruction, rest]);
  }
  return stages;
}

/** Bare package names imported by the modules reachable from bin/waygate.ts. */
function runtimeImports(): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\s+(?!type\s)(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm)) {
      const spec = m[1];
      if (spec.startsWith('.')) visit(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    }
    for (const m of readFileSync(file, 'utf8').matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) visit(resolve(dirname(file), m[1]));
  };
  visit(join(ROOT, 'bin/waygate.ts'));
  return packages;
}

describe('the Dockerfile', () => {
  test('builds on Node 24 slim in two stages, installs production dependencies only, runs non-root', () => {
    const stages = dockerStages();
    assert.ok(stages.length >= 2, 'multi-stage');
    for (const stage of stages) assert.match(stage[0][1], /^node:24(-bookworm|-trixie)?-slim\b/, 'Node 24 slim (type stripping is on by default)');
    assert.ok(stages.slice(0, -1).some((s) => s.some(([i, a]) => i === 'RUN' && /npm ci\b.*--omit=dev/.test(a))), 'npm ci --omit=dev in a build stage');
    const runtime = stages.at(-1)!;
    const get = (instruction: string) => runtime.filter(([i]) => i === instruction).map(([, a]) => a);
    assert.ok(!get('RUN').some((a) => /npm (ci|install)/.test(a)), 'nothing installed in the runtime stage');
    assert.deepEqual(get('ENV'), ['NODE_ENV=production']);
    const [user] = get('USER');
    assert.match(user ?? '', /^[1-9]\d*(:\d+)?$/, 'a numeric non-root USER');
    assert.deepEqual(JSON.parse(get('ENTRYPOINT')[0]), ['node', 'bin/waygate.ts']);
    const copied = get('COPY').map((a) => a.replace(/^--from=\S+\s+/, '').split(/\s+/)[0]);
    for (const path of ['package.json', 'bin', 'src']) assert.ok(copied.includes(path), `the image gets ${path}`);
    assert.ok(get('COPY').some((a) => /^--from=\S+\s+\S*node_modules/.test(a)), 'node_modules from the build stage');
  });

  test('every package the entry point imports is a production dependency, without install scripts', () => {
    const missing = [...runtimeImports()].filter((p) => !(p in PACKAGE.dependencies));
    assert.deepEqual(missing, [], 'imported at run time but not in dependencies (npm ci --omit=dev leaves them out)');
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; hasInstallScript?: boolean }> };
    const scripted = Object.entries(lock.packages).filter(([, p]) => p.hasInstallScript && !p.dev).map(([name]) => name);
    assert.deepEqual(scripted, [], 'the image installs with --ignore-scripts');
  });

  test('.dockerignore keeps what the image copies and nothing else', () => {
    const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    assert.equal(lines[0], '*', 'everything is left out first');
    for (const keep of ['!package.json', '!package-lock.json', '!bin/', '!src/']) assert.ok(lines.includes(keep), keep);
  });
});
