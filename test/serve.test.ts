// End to end: `waygate serve` as a real process (supervisor, controller, workers), real
// backends, real clients, manifests edited on disk.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Pool, request } from 'undici';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';
import { baseManifests, removeDir, startWaygate, tempDir, writeManifest, type RunningWaygate } from './helpers/waygate.ts';

function routeYaml(extraRules: string[] = [], weights: [number, number] = [1, 1]): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /app}}]
      backendRefs:
        - {name: blue, port: 80, weight: ${weights[0]}}
        - {name: green, port: 80, weight: ${weights[1]}}
${extraRules.join('')}`;
}

const extraRule = (i: number) => `    - matches: [{path: {type: Exact, value: /v${i}}}]
      backendRefs: [{name: blue, port: 80}]
`;

describe('waygate serve with two workers', () => {
  let dir: string;
  let port: number;
  let blue: Upstream;
  let green: Upstream;
  let wg: RunningWaygate;

  before(async () => {
    dir = await tempDir();
    blue = await startUpstream('blue');
    green = await startUpstream('green');
    port = await freePort();
    await writeManifest(dir, 'base.yaml', baseManifests(port, [{ name: 'blue', ports: [blue.port] }, { name: 'green', ports: [green.port] }]));
    await writeManifest(dir, 'route.yaml', routeYaml());
    wg = await startWaygate(dir, { workers: Number(process.env.WG_WORKERS ?? 2) });
    await wg.waitReady();
  });

  after(async () => {
    const code = await wg.stop();
    assert.equal(code, 0, `waygate exits cleanly on SIGTERM:\n${wg.output()}`);
    await Promise.all([blue.close(), green.close(), removeDir(dir)]);
  });

  test('routes a request to the backends and reports status and config', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const res = await request(`http://127.0.0.1:${port}/app/x`);
      assert.equal(res.statusCode, 200);
      seen.add((await res.body.text()).trim());
    }
    assert.deepEqual([...seen].sort(), ['blue', 'green']);
    const miss = await request(`http://127.0.0.1:${port}/elsewhere`);
    assert.equal(miss.statusCode, 404);
    await miss.body.dump();

    const statuses = (await wg.getJson('/api/status')) as { kind: string; metadata: { name: string; generation: number }; status: { conditions?: { type: string; status: string }[] } }[];
    const gw = statuses.find((s) => s.kind === 'Gateway');
    assert.equal(gw?.metadata.generation, 1);
    assert.deepEqual(gw?.status.conditions?.map((c) => `${c.type}=${c.status}`).sort(), ['Accepted=True', 'Programmed=True']);
    assert.ok(statuses.some((s) => s.kind === 'HTTPRoute' && s.metadata.name === 'app'));
    const service = statuses.find((s) => s.kind === 'Service' && s.metadata.name === 'blue');
    assert.deepEqual(service, { apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name: 'blue', generation: 1 }, status: null }, 'every object read is listed');
    const config = (await wg.getJson('/api/config')) as { version: string; ir: { binds: { name: string }[] } };
    assert.deepEqual(config.ir.binds.map((b) => b.name), [`127.0.0.1:${port}`]);
  });

  test('the spec precedence decides between routes: exact, longest prefix, header matches', async () => {
    const before = Number(((await wg.getJson('/api/config')) as { version: string }).version.split('-')[0]);
    await writeManifest(dir, 'precedence.yaml', `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: precedence, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /app/longer}}]
      backendRefs: [{name: blue, port: 80}]
    - matches: [{path: {type: Exact, value: /app/longer/exact}}]
      backendRefs: [{name: green, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /app}, headers: [{name: X-Canary, value: "yes"}]}]
      backendRefs: [{name: green, port: 80}]
`);
    await wg.waitVersion(before + 1);
    const backendFor = async (path: string, headers: Record<string, string> = {}) => {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const res = await request(`http://127.0.0.1:${port}${path}`, { headers });
        seen.add(`${res.statusCode} ${(await res.body.text()).trim()}`);
      }
      return [...seen].sort().join(',');
    };
    assert.equal(await backendFor('/app/longer/exact'), '200 green', 'Exact beats every prefix');
    assert.equal(await backendFor('/app/longer/x'), '200 blue', 'the longest prefix wins');
    assert.equal(await backendFor('/app/longerx'), '200 blue,200 green', 'prefixes match whole segments only');
    assert.equal(await backendFor('/app/x', { 'x-canary': 'yes' }), '200 green', 'a header match beats the same prefix without one');
    const { rm } = await import('node:fs/promises');
    await rm(`${dir}/precedence.yaml`);
    await wg.waitVersion(before + 2);
  });

  test('a broken manifest is reported and the last good configuration keeps serving', async () => {
    await writeManifest(dir, 'route.yaml', 'kind: HTTPRoute\nmetadata: {name: [oops\n');
    const end = Date.now() + 5000;
    let problems: { file: string; line?: number }[] = [];
    while (Date.now() < end && problems.length === 0) {
      problems = (await wg.getJson('/api/problems')) as typeof problems;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(problems[0]?.file ?? '', /route\.yaml$/);
    const res = await request(`http://127.0.0.1:${port}/app`);
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    await writeManifest(dir, 'route.yaml', routeYaml());
  });

  test('swap under load: 200 configuration versions, 32 busy keep-alive connections, nothing failed or closed', async () => {
    const start = Number(((await wg.getJson('/api/config')) as { version: string }).version.split('-')[0]);
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32, pipelining: 1, keepAliveTimeout: 120_000 });
    let connects = 0;
    let disconnects = 0;
    pool.on('connect', () => connects++);
    pool.on('disconnect', () => disconnects++);
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const client = async () => {
      while (running) {
        try {
          const res = await pool.request({ path: '/app/load', method: 'GET' });
          const body = await res.body.text();
          if (res.statusCode === 200 && (body === 'blue\n' || body === 'green\n')) ok++;
          else failures.push(`${res.statusCode} ${body}`);
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const clients = Array.from({ length: 32 }, client);
    const versions = 200;
    for (let i = 1; i <= versions; i++) {
      const rules = Array.from({ length: i % 7 }, (_, k) => extraRule(i * 10 + k));
      await writeManifest(dir, 'route.yaml', routeYaml(rules, [1 + (i % 3), 1 + (i % 5)]));
      await wg.waitVersion(start + i);
    }
    running = false;
    await Promise.all(clients);
    const finalVersion = Number(((await wg.getJson('/api/config')) as { version: string }).version.split('-')[0]);
    const closedByServer = disconnects;
    await pool.close();
    assert.ok(finalVersion - start >= versions, `${finalVersion - start} versions applied`);
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} failed requests of ${ok + failures.length}\n${wg.output()}`);
    assert.ok(ok > 1000, `${ok} requests served during the swaps`);
    assert.equal(connects, 32, 'the client opened exactly 32 connections');
    assert.equal(closedByServer, 0, 'Waygate closed no client connection');
  });
});
