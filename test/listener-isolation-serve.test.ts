// Listener isolation end to end: Gateway API manifests → translate() → a DataPlane serving on
// real sockets. Two listeners share a port with different hostnames; a request is served only by
// the most specific listener whose hostname matches it, and a host no listener names gets 404;
// over HTTP, and over HTTPS with each listener's certificate from its Secret.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { KubeObject } from '../src/api/index.ts';
import { DataPlane } from '../src/dataplane/index.ts';
import { validateIR } from '../src/ir/index.ts';
import { snapshotOf } from '../src/resources/index.ts';
import { translate } from '../src/translator/index.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { makeCA, makeLeafCertificate, tlsSecretData, type TestCertificate } from './helpers/certificates.ts';
import { fingerprint, httpsGet } from './helpers/https-client.ts';

const CONTROLLER = 'waygate.dev/gateway-controller';

/** A Service `name` whose one endpoint is the upstream on 127.0.0.1. */
function service(name: string, upstream: Upstream): KubeObject[] {
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80, targetPort: upstream.port }] } },
    {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${name}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4', ports: [{ name: 'http', port: upstream.port, protocol: 'TCP' }],
      endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
    },
  ] as unknown as KubeObject[];
}

function route(name: string, sections: string[], path: string, backend: string, hostnames?: string[]): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace: 'default' },
    spec: {
      parentRefs: sections.map((sectionName) => ({ name: 'gw', sectionName })),
      ...(hostnames ? { hostnames } : {}),
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: path } }], backendRefs: [{ name: backend, port: 80 }] }],
    },
  } as unknown as KubeObject;
}

function tlsSecret(name: string, cert: TestCertificate): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'default' }, type: 'kubernetes.io/tls', data: tlsSecretData(cert) } as unknown as KubeObject;
}

/** Listeners `exact` (foo.example.com) and `wild` (*.example.com) on `port`; HTTPS ones name the Secrets `foo` and `wildcard`. */
function manifests(port: number, upstreams: Record<string, Upstream>, protocol: 'HTTP' | 'HTTPS' = 'HTTP'): KubeObject[] {
  const tls = (secret: string) => (protocol === 'HTTPS' ? { tls: { certificateRefs: [{ name: secret }] } } : {});
  return [
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'waygate' }, spec: { controllerName: CONTROLLER } },
    {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' },
      spec: {
        gatewayClassName: 'waygate',
        listeners: [
          { name: 'exact', port, protocol, hostname: 'foo.example.com', ...tls('foo') },
          { name: 'wild', port, protocol, hostname: '*.example.com', ...tls('wildcard') },
        ],
      },
    },
    ...Object.entries(upstreams).flatMap(([name, upstream]) => service(name, upstream)),
    route('exact-route', ['exact'], '/exact', 'exact'),
    route('wild-route', ['wild'], '/', 'wild'),
    // Attached to both listeners: on each with the hostnames intersected with the listener's.
    route('both-route', ['exact', 'wild'], '/both', 'both', ['*.example.com']),
  ] as unknown as KubeObject[];
}

/** GET `path` with Host `host`: the status and the upstream that answered (or none). */
function get(port: number, host: string, path: string): Promise<{ status: number; upstream?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, upstream: res.headers['x-upstream'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('listener isolation on one port, from manifests to sockets', () => {
  const upstreams: Record<string, Upstream> = {};
  let port: number;
  let dp: DataPlane;
  let attached: Record<string, number>;

  before(async () => {
    for (const name of ['exact', 'wild', 'both']) upstreams[name] = await startUpstream(name);
    port = await freePort();
    const { ir, statuses } = translate(snapshotOf(manifests(port, upstreams)), { controllerName: CONTROLLER, listenAddress: '127.0.0.1' });
    assert.deepEqual(validateIR(ir), []);
    const gateway = statuses.find((s) => s.kind === 'Gateway')!.status as { listeners: { name: string; attachedRoutes: number }[] };
    attached = Object.fromEntries(gateway.listeners.map((l) => [l.name, l.attachedRoutes]));
    dp = new DataPlane({});
    await dp.apply('v1', ir);
  });

  after(async () => {
    await dp.close(1000);
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
  });

  test('each listener counts the routes attached to it', () => {
    assert.deepEqual(attached, { exact: 2, wild: 2 });
  });

  test('the exact listener serves its host, and only its own routes', async () => {
    assert.deepEqual(await get(port, 'foo.example.com', '/exact/page'), { status: 200, upstream: 'exact' });
    // The wildcard listener's catch-all route would match, but foo.example.com belongs to the exact listener.
    assert.equal((await get(port, 'foo.example.com', '/other')).status, 404);
  });

  test('the wildcard listener serves the other subdomains, and never the exact listener\'s routes', async () => {
    assert.deepEqual(await get(port, 'bar.example.com', '/other'), { status: 200, upstream: 'wild' });
    assert.deepEqual(await get(port, 'a.b.example.com', '/exact/page'), { status: 200, upstream: 'wild' });
  });

  test('a route attached to both listeners is served on each', async () => {
    assert.deepEqual(await get(port, 'foo.example.com', '/both'), { status: 200, upstream: 'both' });
    assert.deepEqual(await get(port, 'bar.example.com', '/both'), { status: 200, upstream: 'both' });
  });

  test('a host that matches no listener hostname gets 404', async () => {
    assert.equal((await get(port, 'example.org', '/')).status, 404);
    // `*.example.com` does not match example.com itself.
    assert.equal((await get(port, 'example.com', '/both')).status, 404);
    assert.equal(upstreams.exact.seen.length + upstreams.wild.seen.length + upstreams.both.seen.length, 5);
  });
});

describe('listener isolation on one HTTPS port, certificates from Secrets', () => {
  const upstreams: Record<string, Upstream> = {};
  const ca = makeCA();
  const foo = makeLeafCertificate(ca, ['foo.example.com'], { keyType: 'ecdsa' });
  const wildcard = makeLeafCertificate(ca, ['*.example.com'], { keyType: 'rsa' });
  let port: number;
  let dp: DataPlane;

  before(async () => {
    for (const name of ['exact', 'wild', 'both']) upstreams[name] = await startUpstream(name);
    port = await freePort();
    const objects = [...manifests(port, upstreams, 'HTTPS'), tlsSecret('foo', foo), tlsSecret('wildcard', wildcard)];
    const { ir } = translate(snapshotOf(objects), { controllerName: CONTROLLER, listenAddress: '127.0.0.1' });
    assert.deepEqual(validateIR(ir), []);
    assert.deepEqual(ir.binds.map((b) => b.protocol), ['HTTPS']);
    dp = new DataPlane({});
    await dp.apply('v1', ir);
  });

  after(async () => {
    await dp.close(1000);
    await Promise.all(Object.values(upstreams).map((u) => u.close()));
  });

  const get = (servername: string, path: string, host?: string) => httpsGet({ port, ca: ca.certPem, servername, path, ...(host ? { host } : {}) });

  test('the exact listener serves its host with its own certificate, and only its own routes', async () => {
    const answer = await get('foo.example.com', '/exact/page');
    assert.deepEqual([answer.status, answer.headers['x-upstream'], answer.certificate], [200, 'exact', fingerprint(foo)]);
    assert.equal((await get('foo.example.com', '/other')).status, 404);
  });

  test('the wildcard listener serves other subdomains with the wildcard certificate', async () => {
    const answer = await get('bar.example.com', '/other');
    assert.deepEqual([answer.status, answer.headers['x-upstream'], answer.certificate], [200, 'wild', fingerprint(wildcard)]);
    assert.equal((await get('bar.example.com', '/both')).headers['x-upstream'], 'both');
  });

  test('a Host that matches no listener hostname gets 404', async () => {
    assert.equal((await get('bar.example.com', '/', 'example.org')).status, 404);
  });
});
