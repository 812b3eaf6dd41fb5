// GatewayClass SupportedVersion from the installed Gateway API CRDs, end to end: `waygate serve
// --kubernetes` reads the bundle-version annotation of the CRDs it uses (by name, as the
// ClusterRole allows) and the status writer puts the verdict on the GatewayClass as an upgrade
// or a mistaken install changes it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { GATEWAY_API_CRD_NAMES } from '../src/api/index.ts';
import { snapshotOf } from '../src/resources/index.ts';
import { translate } from '../src/translator/index.ts';
import { startKubeApiServer, type KubeApiServer } from './helpers/kube-apiserver.ts';
import { startServe, type RunningWaygate } from './helpers/waygate.ts';

type Json = Record<string, any>;

const NS = 'waygate-system';
const CONTROLLER = 'waygate.dev/gateway-controller';
const BUNDLE_VERSION = 'gateway.networking.k8s.io/bundle-version';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const gatewayClass = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'waygate' }, spec: { controllerName: CONTROLLER } };
const gateway = {
  apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'web', namespace: 'default' },
  spec: { gatewayClassName: 'waygate', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
};

function conditionOf(obj: Json, type: string): Json | undefined {
  return (obj.status?.conditions ?? []).find((c: Json) => c.type === type);
}

describe('GatewayClass SupportedVersion through waygate serve --kubernetes', () => {
  let api: KubeApiServer;
  let waygate: RunningWaygate | undefined;

  const crd = (name: string) => api.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } }) as Json;
  /** What `kubectl apply` of another release's CRD does to the annotations. */
  const setBundleVersion = (plural: string, version: string) => {
    const current = crd(`${plural}.gateway.networking.k8s.io`);
    api.update({ ...current, metadata: { ...current.metadata, annotations: { ...current.metadata.annotations, [BUNDLE_VERSION]: version } } });
  };
  const liveClass = () => api.get(gatewayClass) as Json;

  async function until<T>(what: string, probe: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      const v = probe();
      if (v !== undefined && v !== false) return v as T;
      await sleep(50);
    }
    throw new Error(`timed out waiting for ${what}; GatewayClass status: ${JSON.stringify(liveClass().status)}\n${waygate?.output() ?? ''}`);
  }
  const classCondition = (type: string, status: string, reason: string) =>
    until(`GatewayClass ${type}=${status} (${reason})`, () => {
      const c = conditionOf(liveClass(), type);
      return c?.status === status && c.reason === reason ? c : undefined;
    });

  before(async () => {
    // The Gateway API v1.6.1 standard-channel CRDs are installed (the test server's default).
    api = await startKubeApiServer({ namespaces: ['default', NS] });
    api.create(gatewayClass);
    api.create(gateway);
    waygate = await startServe(['--kubernetes', '--kubeconfig', api.kubeconfigFor('waygate'), '--workers', '0', '--listen-address', '127.0.0.1'], {
      env: { POD_NAME: 'waygate-0', POD_NAMESPACE: NS },
    });
  });

  after(async () => {
    await waygate?.stop();
    await api?.stop();
  });

  test('with the v1.6.1 CRDs installed the class is SupportedVersion=True and Accepted', async () => {
    const supported = await classCondition('SupportedVersion', 'True', 'SupportedVersion');
    assert.match(supported.message, /v1\.6\.1 \(standard channel\) for gatewayclasses, gateways, httproutes, referencegrants/);
    assert.equal(conditionOf(liveClass(), 'Accepted')?.status, 'True');
    assert.ok((liveClass().status.supportedFeatures ?? []).length > 0, 'an accepted class lists its features');
  });

  test('a CRD upgraded to a release Waygate does not support: SupportedVersion=False, still Accepted (best effort)', async () => {
    setBundleVersion('httproutes', 'v1.7.0');
    const unsupported = await classCondition('SupportedVersion', 'False', 'UnsupportedVersion');
    assert.match(unsupported.message, /supports Gateway API v1\.6\.x/);
    assert.match(unsupported.message, /v1\.7\.0 \(standard channel\) for httproutes/);
    assert.equal(conditionOf(liveClass(), 'Accepted')?.status, 'True');
    const gw = api.get(gateway) as Json;
    assert.equal(conditionOf(gw, 'Accepted')?.status, 'True', 'the Gateway is still served');
  });

  test('a CRD of another major version: the class is Accepted=False, UnsupportedVersion; back to v1.6.1, all is True again', async () => {
    setBundleVersion('referencegrants', 'v2.0.0');
    const rejected = await classCondition('Accepted', 'False', 'UnsupportedVersion');
    assert.match(rejected.message, /v2\.0\.0 \(standard channel\) for referencegrants/);
    assert.equal(conditionOf(liveClass(), 'SupportedVersion')?.reason, 'UnsupportedVersion');
    setBundleVersion('referencegrants', 'v1.6.1');
    setBundleVersion('httproutes', 'v1.6.1');
    await classCondition('SupportedVersion', 'True', 'SupportedVersion');
    assert.equal(conditionOf(liveClass(), 'Accepted')?.reason, 'Accepted');
  });

  test('only the four CRDs are read, each by name, and the ClusterRole grants exactly those', () => {
    const reads = api.requests.filter((r) => r.resource === 'customresourcedefinitions');
    assert.ok(reads.some((r) => r.verb === 'watch'), 'the CRDs are watched');
    assert.deepEqual([...new Set(reads.map((r) => r.verb))].sort(), ['list', 'watch']);
    const named = [...new Set(reads.map((r) => r.query.fieldSelector))].sort();
    assert.deepEqual(named, GATEWAY_API_CRD_NAMES.map((n) => `metadata.name=${n}`));
    const manifests = parseAllDocuments(readFileSync(join(import.meta.dirname, '..', 'deploy', 'waygate.yaml'), 'utf8')).map((d) => d.toJS() as Json);
    const rules = (manifests.find((o) => o?.kind === 'ClusterRole')!.rules as Json[]).filter((r) => r.apiGroups.includes('apiextensions.k8s.io'));
    assert.deepEqual(rules, [{ apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], resourceNames: [...GATEWAY_API_CRD_NAMES], verbs: ['list', 'watch'] }]);
  });
});

test('file mode reports the version Waygate implements: CRD manifests among the files are not installed CRDs', () => {
  const newer = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: GATEWAY_API_CRD_NAMES[0], annotations: { [BUNDLE_VERSION]: 'v1.7.0' } } };
  const snapshot = snapshotOf([gatewayClass, newer] as never[]);
  const { statuses } = translate(snapshot, { controllerName: CONTROLLER, listenAddress: '127.0.0.1' });
  const supported = conditionOf(statuses[0] as Json, 'SupportedVersion');
  assert.deepEqual(supported && { status: supported.status, reason: supported.reason, message: supported.message }, { status: 'True', reason: 'SupportedVersion', message: 'Gateway API v1.6 is supported' });
});
