// HTTPS end to end: `waygate serve` with two workers, a Gateway HTTPS listener whose certificate
// is a kubernetes.io/tls Secret on disk; the certificate reaches the workers over IPC, and a
// rotated Secret goes live in every worker while established connections keep working.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { request } from 'undici';
import { makeCA, makeLeafCertificate, tlsSecretData, type TestCertificate } from './helpers/certificates.ts';
import { fingerprint, httpsGet, openTls } from './helpers/https-client.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { removeDir, startWaygate, tempDir, writeManifest, type RunningWaygate } from './helpers/waygate.ts';

function secretYaml(cert: TestCertificate): string {
  const data = tlsSecretData(cert);
  return `apiVersion: v1
kind: Secret
metadata: {name: site, namespace: default}
type: kubernetes.io/tls
data:
  tls.crt: ${data['tls.crt']}
  tls.key: ${data['tls.key']}
`;
}

function baseYaml(port: number, upstreamPort: number, protocol: 'HTTP' | 'HTTPS' = 'HTTPS'): string {
  const tls = protocol === 'HTTP' ? '' : `
      tls:
        mode: Terminate
        certificateRefs: [{name: site}]`;
  return `apiVersion: gateway.networking.k8s.io/v1
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
    - name: web
      protocol: ${protocol}
      port: ${port}
      hostname: "*.example.com"${tls}
---
apiVersion: v1
kind: Service
metadata: {name: app, namespace: default}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: app-0
  namespace: default
  labels: {kubernetes.io/service-name: app}
addressType: IPv4
ports: [{name: http, port: ${upstreamPort}}]
endpoints:
  - addresses: ["127.0.0.1"]
    conditions: {ready: true}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
    - backendRefs: [{name: app, port: 80}]
`;
}

describe('waygate serve: HTTPS listener from a Secret, two workers', () => {
  let dir: string;
  let port: number;
  let upstream: Upstream;
  let wg: RunningWaygate;
  let ca: TestCertificate;
  let certs: TestCertificate[];

  before(async () => {
    ca = makeCA();
    certs = [1, 2].map(() => makeLeafCertificate(ca, ['*.example.com'], { keyType: 'ecdsa' }));
    dir = await tempDir();
    upstream = await startUpstream('app');
    port = await freePort();
    await writeManifest(dir, 'base.yaml', baseYaml(port, upstream.port));
    await writeManifest(dir, 'secret.yaml', secretYaml(certs[0]));
    wg = await startWaygate(dir, { workers: 2 });
    await wg.waitReady();
  });

  after(async () => {
    const code = await wg.stop();
    assert.equal(code, 0, `waygate exits cleanly on SIGTERM:\n${wg.output()}`);
    await Promise.all([upstream.close(), removeDir(dir)]);
  });

  test('serves the Secret\'s certificate with X-Forwarded-Proto https, from every worker', async () => {
    // New connections each time: the kernel spreads them over both workers.
    for (let i = 0; i < 10; i++) {
      const res = await httpsGet({ port, ca: ca.certPem, servername: 'www.example.com' });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'app\n');
      assert.equal(res.certificate, fingerprint(certs[0]));
    }
    assert.equal(upstream.seen.at(-1)!.headers['x-forwarded-proto'], 'https');
  });

  test('a TLS session from one worker resumes on any worker (ticket keys from the fleet secret)', async () => {
    for (const maxVersion of ['TLSv1.2', 'TLSv1.3'] as const) {
      const session = await sessionOf(port, ca.certPem, maxVersion);
      const reused: boolean[] = [];
      // New connections: the kernel spreads them over both workers.
      for (let i = 0; i < 12; i++) reused.push(await resumes(port, ca.certPem, session, maxVersion));
      assert.deepEqual(reused, reused.map(() => true), maxVersion);
    }
  });

  test('a rotated Secret goes live in every worker; an established connection keeps working', async () => {
    const old = await openTls(port, 'www.example.com', ca.certPem);
    assert.deepEqual(await old.get('www.example.com'), { status: 200, body: 'app\n' });
    const version = Number(((await wg.getJson('/api/config')) as { version: string }).version.split('-')[0]);
    await writeManifest(dir, 'secret.yaml', secretYaml(certs[1]));
    await wg.waitVersion(version + 1);
    for (let i = 0; i < 10; i++) {
      const res = await httpsGet({ port, ca: ca.certPem, servername: 'www.example.com' });
      assert.equal(res.certificate, fingerprint(certs[1]), `new handshake ${i} sees the new certificate`);
    }
    assert.deepEqual(await old.get('www.example.com'), { status: 200, body: 'app\n' });
    assert.equal(old.socket.getPeerCertificate().fingerprint256, fingerprint(certs[0]));
    old.socket.destroy();
  });

  test('the listener switched to HTTP on the same port: every worker serves plain HTTP, then HTTPS again', async () => {
    const version = Number(((await wg.getJson('/api/config')) as { version: string }).version.split('-')[0]);
    await writeManifest(dir, 'base.yaml', baseYaml(port, upstream.port, 'HTTP'));
    await wg.waitVersion(version + 1);
    for (let i = 0; i < 10; i++) {
      // undici's request, not fetch: fetch drops a Host header.
      const res = await request(`http://127.0.0.1:${port}/`, { headers: { host: 'www.example.com' } });
      assert.equal(await res.body.text(), 'app\n');
    }
    assert.equal(upstream.seen.at(-1)!.headers['x-forwarded-proto'], 'http');
    await assert.rejects(httpsGet({ port, ca: ca.certPem, servername: 'www.example.com' }));
    await writeManifest(dir, 'base.yaml', baseYaml(port, upstream.port));
    await wg.waitVersion(version + 2);
    for (let i = 0; i < 10; i++) assert.equal((await httpsGet({ port, ca: ca.certPem, servername: 'www.example.com' })).body, 'app\n');
  });

  test('the admin API never shows the private key', async () => {
    const config = JSON.stringify(await wg.getJson('/api/config'));
    assert.ok(config.includes('secret/default/site'), 'the certificate is listed');
    assert.doesNotMatch(config, /PRIVATE KEY/);
  });
});

/** Handshakes, sends one request, and returns the session the server gave (its ticket). */
function sessionOf(port: number, ca: string, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const s = connect({ host: '127.0.0.1', port, servername: 'www.example.com', ca, maxVersion });
    s.on('session', (buf: Buffer) => (session = buf));
    s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nhost: www.example.com\r\nconnection: close\r\n\r\n'));
    s.on('data', () => undefined);
    s.on('end', () => (session === undefined ? reject(new Error('no session')) : resolve(session)));
    s.on('error', reject);
  });
}

function resumes(port: number, ca: string, session: Buffer, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: 'www.example.com', ca, session, maxVersion }, () => {
      resolve(s.isSessionReused());
      s.end();
    });
    s.on('error', reject);
  });
}
