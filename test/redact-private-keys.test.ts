// Private keys of HTTPS listeners reach the data plane, never a dump meant for people:
// `waygate translate` and the admin API's config show `<redacted sha256:…>` instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { redactSecrets } from '../src/admin/index.ts';
import { redactIR, type IR } from '../src/ir/index.ts';
import { DEFAULT_CONTROLLER_NAME, translateCommand } from '../src/main.ts';
import { makeCA, makeLeafCertificate, tlsSecretData, type TestCertificate } from './helpers/certificates.ts';

function httpsManifests(cert: TestCertificate): string {
  const docs = [
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'waygate' }, spec: { controllerName: DEFAULT_CONTROLLER_NAME } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'site', namespace: 'default' }, type: 'kubernetes.io/tls', data: tlsSecretData(cert) },
    {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' },
      spec: { gatewayClassName: 'waygate', listeners: [{ name: 'https', port: 8443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'site' }] } }] },
    },
  ];
  return docs.map((d) => YAML.stringify(d)).join('---\n');
}

const ca = makeCA();
const cert = makeLeafCertificate(ca, ['site.example.com'], { keyType: 'ecdsa' });
const keyBody = cert.keyPem.split('\n')[1];

test('waygate translate prints the certificate but not its private key, in YAML and JSON', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'waygate-redact-'));
  try {
    writeFileSync(join(dir, 'https.yaml'), httpsManifests(cert));
    for (const output of ['yaml', 'json'] as const) {
      const { text, errors } = await translateCommand({ manifests: [dir], output, listenAddress: '127.0.0.1', controllerName: DEFAULT_CONTROLLER_NAME });
      assert.deepEqual(errors, []);
      assert.match(text, /BEGIN CERTIFICATE/, `${output}: the certificate is shown`);
      assert.doesNotMatch(text, /PRIVATE KEY/, `${output}: no PEM private key`);
      assert.ok(!text.includes(keyBody), `${output}: no line of the key`);
      assert.match(text, /<redacted sha256:[0-9a-f]{16}>/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('redactIR keeps a hash that tells whether the key changed, and leaves an IR without certificates alone', () => {
  const other = makeLeafCertificate(ca, ['site.example.com'], { keyType: 'ecdsa' });
  const ir = (keyPem: string): IR => ({
    binds: [], backends: [],
    certificates: [{ name: 'secret/default/site', certificatePem: cert.certPem, privateKeyPem: keyPem, hostnames: ['site.example.com'] }],
  });
  const a = redactIR(ir(cert.keyPem)).certificates![0].privateKeyPem;
  assert.equal(redactIR(ir(cert.keyPem)).certificates![0].privateKeyPem, a);
  assert.notEqual(redactIR(ir(other.keyPem)).certificates![0].privateKeyPem, a);
  assert.equal(redactIR(ir(cert.keyPem)).certificates![0].certificatePem, cert.certPem);
  const plain: IR = { binds: [], backends: [] };
  assert.equal(redactIR(plain), plain);
});

test('the admin API redaction keeps redactIR\'s marker and blanks a key that was not redacted', () => {
  const marker = '<redacted sha256:0123456789abcdef>';
  const shown = redactSecrets({ ir: { certificates: [{ privateKeyPem: marker }, { privateKeyPem: cert.keyPem }] } }) as {
    ir: { certificates: { privateKeyPem: string }[] };
  };
  assert.equal(shown.ir.certificates[0].privateKeyPem, marker);
  assert.equal(shown.ir.certificates[1].privateKeyPem, '<redacted>');
});
