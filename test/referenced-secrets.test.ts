// The Kubernetes provider holds exactly the Secrets HTTPS listeners name: in the Gateway's
// namespace or another one (a ReferenceGrant is the translator's question, not the watch's).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../src/api/index.ts';
import { referencedSecrets } from '../src/providers/kubernetes/referenced-secrets.ts';

function gateway(namespace: string, name: string, refs: object[]): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name, namespace },
    spec: { gatewayClassName: 'waygate', listeners: [{ name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: refs } }, { name: 'http', port: 80, protocol: 'HTTP' }] },
  } as unknown as KubeObject;
}

const gateways = [
  gateway('apps', 'a', [{ name: 'site' }, { name: 'shared', namespace: 'certs' }, { group: '', kind: 'Secret', name: 'explicit' }]),
  gateway('web', 'b', [{ name: 'shared', namespace: 'certs' }, { kind: 'ConfigMap', name: 'not-a-secret' }, { group: 'example.com', kind: 'Secret', name: 'other-group' }]),
];

test('same-namespace and cross-namespace Secrets are held once each; other kinds and groups are not', () => {
  const refs = referencedSecrets(gateways).map((r) => `${r.namespace}/${r.name}`).sort();
  assert.deepEqual(refs, ['apps/explicit', 'apps/site', 'certs/shared']);
});

test('watching one namespace holds only the Secrets in it', () => {
  assert.deepEqual(referencedSecrets(gateways, 'certs'), [{ namespace: 'certs', name: 'shared' }]);
});
