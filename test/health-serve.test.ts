// End to end: `waygate serve` with a Service whose annotations ask for an active health check.
// With workers, the controller process checks and every worker follows; with --workers 0 the
// single process does both.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { request } from 'undici';
import { sleep } from './helpers/health-load.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { removeDir, startWaygate, tempDir, writeManifest } from './helpers/waygate.ts';

/** Answers its name; its /healthz answers `health.status`. */
async function checkedUpstream(name: string): Promise<Upstream & { health: { status: number; probes: number } }> {
  const health = { status: 200, probes: 0 };
  const u = await startUpstream(name, (req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url !== '/healthz') return void res.end(`${name}\n`);
      health.probes++;
      res.statusCode = health.status;
      res.end();
    });
  });
  return Object.assign(u, { health });
}

function manifests(gatewayPort: number, ports: number[]): string {
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
  listeners: [{name: http, protocol: HTTP, port: ${gatewayPort}}]
---
apiVersion: v1
kind: Service
metadata:
  name: app
  namespace: default
  annotations:
    waygate.dev/health-check-path: /healthz
    waygate.dev/health-check-interval: 50ms
    waygate.dev/health-check-timeout: 50ms
    waygate.dev/health-check-unhealthy-threshold: "2"
spec:
  ports: [{name: http, port: 80}]
${ports.map((port, i) => `---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: app-${i}
  namespace: default
  labels: {kubernetes.io/service-name: app}
addressType: IPv4
ports: [{name: http, port: ${port}}]
endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]
`).join('')}---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: app, port: 80}]}]
`;
}

/** Which upstreams answered `n` requests, each on a new connection (spread over the workers). */
async function answeredBy(port: number, n: number): Promise<string> {
  const names = new Set<string>();
  for (let i = 0; i < n; i++) {
    const res = await request(`http://127.0.0.1:${port}/`, { reset: true });
    assert.equal(res.statusCode, 200);
    names.add((await res.body.text()).trim());
  }
  return [...names].sort().join(',');
}

async function eventually(what: string, ok: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

for (const workers of [2, 0]) {
  test(`waygate serve --workers ${workers}: traffic leaves an endpoint that fails its health check and comes back when it passes`, { timeout: 60_000 }, async (t) => {
    const [good, bad] = await Promise.all([checkedUpstream('good'), checkedUpstream('bad')]);
    const port = await freePort();
    const dir = await tempDir();
    await writeManifest(dir, 'app.yaml', manifests(port, [good.port, bad.port]));
    const wg = await startWaygate(dir, { workers });
    t.after(async () => {
      const code = await wg.stop();
      await Promise.all([good.close(), bad.close(), removeDir(dir)]);
      assert.equal(code, 0, wg.output());
    });
    await wg.waitReady();
    const config = (await wg.getJson('/api/config')) as { ir: { backends: { policy?: { healthCheck?: unknown } }[] } };
    assert.deepEqual(config.ir.backends[0].policy?.healthCheck, { type: 'HTTP', intervalMs: 50, timeoutMs: 50, unhealthyThreshold: 2, http: { path: '/healthz' } });
    assert.equal(await answeredBy(port, 30), 'bad,good');

    bad.health.status = 503;
    // Two failed probes, then the envelope reaches every worker.
    await eventually('traffic to leave the failing endpoint', async () => (await answeredBy(port, 30)) === 'good');
    assert.equal(await answeredBy(port, 60), 'good');
    bad.health.status = 200;
    await eventually('traffic to return', async () => (await answeredBy(port, 30)) === 'bad,good');
    // One checker for the node, whatever the number of workers: about one probe per 50 ms.
    const probesBefore = good.health.probes;
    await sleep(1000);
    const perSecond = good.health.probes - probesBefore;
    t.diagnostic(`${perSecond} probes of one endpoint in 1 s`);
    assert.ok(perSecond >= 5 && perSecond <= 21, `${perSecond} probes in 1 s`);
  });
}
