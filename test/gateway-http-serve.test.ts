// End to end: Gateway API HTTP through `waygate serve` with two workers — manifests on disk,
// the translator, configurations sent to worker processes, TLS termination with certificates
// from Secrets, filters and redirects — with real backends and real TLS clients.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { connect, type PeerCertificate } from 'node:tls';
import { Agent, request } from 'undici';
import { makeCA, makeLeafCertificate, tlsSecretData, type TestCertificate } from './helpers/certificates.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { baseManifests, removeDir, startWaygate, tempDir, writeManifest, type RunningWaygate } from './helpers/waygate.ts';

function secretYaml(name: string, namespace: string, cert: TestCertificate): string {
  const data = tlsSecretData(cert);
  return `apiVersion: v1
kind: Secret
metadata: {name: ${name}, namespace: ${namespace}}
type: kubernetes.io/tls
data:
  tls.crt: ${data['tls.crt']}
  tls.key: ${data['tls.key']}
`;
}

function gatewayYaml(httpPort: number, httpsPort: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: waygate
  listeners:
    - {name: http, protocol: HTTP, port: ${httpPort}}
    - name: https
      protocol: HTTPS
      port: ${httpsPort}
      hostname: "*.example.com"
      tls:
        certificateRefs:
          - {name: wildcard}
          - {name: shop, namespace: certs}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: gateways-may-read-certs, namespace: certs}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: default}]
  to: [{group: "", kind: Secret}]
`;
}

function routesYaml(httpsPort: number): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: to-https, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: http}]
  rules:
    - filters:
        - type: RequestRedirect
          requestRedirect: {scheme: https, port: ${httpsPort}, statusCode: 301}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: https}]
  hostnames: [app.example.com, shop.example.com]
  rules:
    - matches: [{path: {type: PathPrefix, value: /api}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Env, value: prod}]
            remove: [x-debug]
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            add: [{name: X-Served-By, value: waygate}]
        - type: URLRewrite
          urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}
      backendRefs: [{name: blue, port: 80}]
`;
}

/** The certificate a TLS handshake with `servername` is answered with. */
function servedCertificate(port: number, servername: string, ca: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert);
    });
    socket.on('error', reject);
  });
}

function serialOf(cert: TestCertificate): string {
  return new X509Certificate(cert.certPem).serialNumber;
}

describe('Gateway API HTTP through waygate serve (two workers)', () => {
  let dir: string;
  let httpPort: number;
  let httpsPort: number;
  let blue: Upstream;
  let wg: RunningWaygate;
  let ca: TestCertificate;
  let wildcard: TestCertificate;
  let shop: TestCertificate;

  before(async () => {
    ca = makeCA();
    wildcard = makeLeafCertificate(ca, ['*.example.com']);
    shop = makeLeafCertificate(ca, ['shop.example.com']);
    dir = await tempDir();
    blue = await startUpstream('blue');
    httpPort = await freePort();
    httpsPort = await freePort();
    // baseManifests brings the class, a Gateway we replace, and the blue Service.
    const base = baseManifests(httpPort, [{ name: 'blue', ports: [blue.port] }]).split('\n---\n').filter((d) => !d.includes('kind: Gateway\n'));
    await writeManifest(dir, 'base.yaml', base.join('\n---\n'));
    await writeManifest(dir, 'gateway.yaml', gatewayYaml(httpPort, httpsPort));
    await writeManifest(dir, 'secrets.yaml', `${secretYaml('wildcard', 'default', wildcard)}---\n${secretYaml('shop', 'certs', shop)}`);
    await writeManifest(dir, 'routes.yaml', routesYaml(httpsPort));
    wg = await startWaygate(dir, { workers: 2 });
    await wg.waitReady();
  });

  after(async () => {
    const code = await wg.stop();
    assert.equal(code, 0, `waygate exits cleanly on SIGTERM:\n${wg.output()}`);
    await Promise.all([blue.close(), removeDir(dir)]);
  });

  test('the HTTP listener redirects to HTTPS, keeping host, path and query', async () => {
    const res = await request(`http://127.0.0.1:${httpPort}/api/items?page=2`, { headers: { host: 'app.example.com' } });
    await res.body.dump();
    assert.equal(res.statusCode, 301);
    assert.equal(res.headers.location, `https://app.example.com:${httpsPort}/api/items?page=2`);
  });

  test('HTTPS: filters apply, the backend sees the rewritten path, the set header and X-Forwarded-Proto https', async () => {
    const agent = new Agent({ connect: { ca: ca.certPem, servername: 'app.example.com' } });
    try {
      const before = blue.seen.length;
      const res = await request(`https://127.0.0.1:${httpsPort}/api/items?page=2`, {
        dispatcher: agent, headers: { host: 'app.example.com', 'x-env': 'dev', 'x-debug': '1' },
      });
      assert.equal(res.statusCode, 200);
      assert.equal((await res.body.text()).trim(), 'blue');
      assert.equal(res.headers['x-served-by'], 'waygate');
      const seen = blue.seen[before];
      assert.equal(seen.url, '/v2/items?page=2');
      assert.equal(seen.headers['x-env'], 'prod');
      assert.equal(seen.headers['x-debug'], undefined);
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
    } finally {
      await agent.close();
    }
  });

  test('SNI picks the certificate: the exact one for shop (granted across namespaces), the wildcard otherwise', async () => {
    assert.equal((await servedCertificate(httpsPort, 'shop.example.com', ca.certPem)).serialNumber, serialOf(shop));
    assert.equal((await servedCertificate(httpsPort, 'app.example.com', ca.certPem)).serialNumber, serialOf(wildcard));
  });

  test('a rotated Secret is served to new handshakes; an open connection keeps working', async () => {
    const agent = new Agent({ connect: { ca: ca.certPem, servername: 'app.example.com' }, connections: 1, pipelining: 1 });
    let connects = 0;
    agent.on('connect', () => connects++);
    try {
      const get = async () => {
        const res = await request(`https://127.0.0.1:${httpsPort}/api/x`, { dispatcher: agent, headers: { host: 'app.example.com' } });
        await res.body.dump();
        return res.statusCode;
      };
      assert.equal(await get(), 200);
      const rotated = makeLeafCertificate(ca, ['*.example.com']);
      const seq = Number(((await wg.getJson('/api/config')) as { version: string }).version.split('-')[0]);
      await writeManifest(dir, 'secrets.yaml', `${secretYaml('wildcard', 'default', rotated)}---\n${secretYaml('shop', 'certs', shop)}`);
      await wg.waitVersion(seq + 1);
      assert.equal((await servedCertificate(httpsPort, 'app.example.com', ca.certPem)).serialNumber, serialOf(rotated));
      for (let i = 0; i < 5; i++) assert.equal(await get(), 200);
      assert.equal(connects, 1, 'the connection opened before the rotation served every request');
    } finally {
      await agent.close();
    }
  });
});
