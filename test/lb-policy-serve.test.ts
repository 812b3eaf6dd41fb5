// A BackendTrafficPolicy read by the file provider, end to end: `waygate serve` with two workers,
// its status in the admin API, and sticky cookies honoured by every worker (one fleet secret).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { baseManifests, removeDir, startWaygate, tempDir, writeManifest } from './helpers/waygate.ts';

/** One request on a connection of its own, so that the kernel spreads them over the workers. */
function fresh(port: number, headers: Record<string, string> = {}): Promise<{ upstream: string; setCookie: string[] }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/', agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ upstream: body.trim(), setCookie: res.headers['set-cookie'] ?? [] }));
    });
    req.on('error', reject);
    req.end();
  });
}

const POLICY = `apiVersion: waygate.dev/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: sticky, namespace: default}
spec:
  targetRefs: [{group: "", kind: Service, name: app}]
  sessionPersistence: {mode: Balanced, cookieName: pin}
`;

const ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: app, port: 80}]}]
`;

test('the file provider reads a BackendTrafficPolicy: status Accepted, the policy in the IR, and its sticky cookie honoured by every worker', { timeout: 60_000 }, async () => {
  const dir = await tempDir();
  const ups: Upstream[] = await Promise.all(['p0', 'p1', 'p2'].map((n) => startUpstream(n)));
  const port = await freePort();
  await writeManifest(dir, 'base.yaml', baseManifests(port, [{ name: 'app', ports: ups.map((u) => u.port) }]));
  await writeManifest(dir, 'route.yaml', ROUTE);
  await writeManifest(dir, 'policy.yaml', POLICY);
  const wg = await startWaygate(dir, { workers: 2 });
  try {
    await wg.waitReady();
    const statuses = (await wg.getJson('/api/status')) as { kind: string; metadata: { name: string }; status: { ancestors: { ancestorRef: object; controllerName: string; conditions: { type: string; status: string; reason: string }[] }[] } }[];
    const status = statuses.find((s) => s.kind === 'BackendTrafficPolicy');
    assert.deepEqual(status?.status.ancestors.map((a) => [a.ancestorRef, a.controllerName, a.conditions.map((c) => `${c.type}=${c.status}/${c.reason}`)]), [
      [{ group: '', kind: 'Service', namespace: 'default', name: 'app' }, 'waygate.dev/gateway-controller', ['Accepted=True/Accepted']],
    ]);
    const config = (await wg.getJson('/api/config')) as { ir: { backends: { name: string; policy?: unknown }[] } };
    assert.deepEqual(config.ir.backends.map((b) => b.policy), [{ stickySession: { mode: 'Balanced', cookieName: 'pin' } }]);

    const first = await fresh(port);
    const cookie = first.setCookie.map((c) => c.split(';')[0]).find((c) => c.startsWith('pin='));
    assert.ok(cookie, `a sticky cookie: ${first.setCookie}`);
    for (let i = 0; i < 20; i++) {
      const a = await fresh(port, { cookie });
      assert.equal(a.upstream, first.upstream, 'every worker honours the cookie another one issued');
      assert.deepEqual(a.setCookie, []);
    }
  } finally {
    const code = await wg.stop();
    await Promise.all([...ups.map((u) => u.close()), removeDir(dir)]);
    assert.equal(code, 0, wg.output());
  }
});
