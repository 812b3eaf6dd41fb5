// Load-balancing policy end to end on real sockets: manifests (BackendTrafficPolicy, Service
// topology, HTTPRoute sessionPersistence) → translate → a data plane → real upstreams and clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import type { KubeObject } from '../src/api/index.ts';
import { DataPlane } from '../src/dataplane/index.ts';
import { RoundRobinBalancer, type EndpointInput } from '../src/dataplane/lb/index.ts';
import { validateIR, type IR } from '../src/ir/index.ts';
import { snapshotOf } from '../src/resources/index.ts';
import { translate } from '../src/translator/index.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

// ---- manifests ----

interface Ep {
  readonly upstream: Upstream;
  readonly zone?: string;
  readonly ready?: boolean;
  readonly serving?: boolean;
  readonly terminating?: boolean;
}

function gateway(port: number): KubeObject[] {
  return [
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'waygate' }, spec: { controllerName: 'waygate.dev/gateway-controller' } },
    {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' },
      spec: { gatewayClassName: 'waygate', listeners: [{ name: 'http', protocol: 'HTTP', port }] },
    },
  ] as unknown as KubeObject[];
}

/** A Service on port 80 and one EndpointSlice per endpoint (each upstream listens on its own port). */
function service(name: string, endpoints: readonly Ep[], extra: { spec?: object; annotations?: Record<string, string> } = {}): KubeObject[] {
  const svc = {
    apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: { ports: [{ name: 'http', port: 80 }], ...extra.spec },
  };
  const slices = endpoints.map((e) => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name: `${name}-${e.upstream.name}`, namespace: 'default', labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4', ports: [{ name: 'http', port: e.upstream.port }],
    endpoints: [{
      addresses: ['127.0.0.1'], ...(e.zone ? { zone: e.zone } : {}),
      conditions: { ready: e.ready ?? true, serving: e.serving ?? true, terminating: e.terminating ?? false },
    }],
  }));
  return [svc, ...slices] as KubeObject[];
}

function route(rules: readonly { backendRefs: { name: string; port?: number; weight?: number }[]; sessionPersistence?: object }[]): KubeObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'web', namespace: 'default' },
    spec: { parentRefs: [{ name: 'gw' }], rules: rules.map((r) => ({ ...r, backendRefs: r.backendRefs.map((b) => ({ port: 80, ...b })) })) },
  } as KubeObject;
}

function policy(name: string, service: string, spec: object): KubeObject {
  return {
    apiVersion: 'waygate.dev/v1alpha1', kind: 'BackendTrafficPolicy', metadata: { name, namespace: 'default' },
    spec: { targetRefs: [{ group: '', kind: 'Service', name: service }], ...spec },
  } as KubeObject;
}

/** The IR the translator makes of `objects`; its policies must all be accepted. */
function irOf(objects: readonly KubeObject[]): IR {
  const { ir, statuses } = translate(snapshotOf(objects), { controllerName: 'waygate.dev/gateway-controller', listenAddress: '127.0.0.1' });
  assert.deepEqual(validateIR(ir), []);
  for (const s of statuses.filter((x) => x.kind === 'BackendTrafficPolicy')) {
    const conditions = (s.status as { ancestors: { conditions: { status: string; message: string }[] }[] }).ancestors.flatMap((a) => a.conditions);
    assert.ok(conditions.every((c) => c.status === 'True'), JSON.stringify(conditions));
  }
  return ir;
}

// ---- clients ----

interface Answer {
  readonly status: number;
  readonly upstream: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

async function get(client: Pool, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await client.request({ path: '/', method: 'GET', headers });
  return { status: res.statusCode, upstream: (await res.body.text()).trim(), headers: res.headers };
}

/** `name=value` of the Set-Cookie for `name` in an answer, if any. */
function setCookie(answer: Answer, name: string): string | undefined {
  const raw = answer.headers['set-cookie'];
  const all = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  return all.map((c) => c.split(';')[0]).find((c) => c.startsWith(`${name}=`));
}

async function upstreams(names: readonly string[]): Promise<Upstream[]> {
  return Promise.all(names.map((n) => startUpstream(n)));
}

async function withProxy(
  options: ConstructorParameters<typeof DataPlane>[0], body: (dp: DataPlane, port: number, client: Pool) => Promise<void>,
): Promise<void> {
  const dp = new DataPlane(options);
  const port = await freePort();
  const client = new Pool(`http://127.0.0.1:${port}`, { connections: 4 });
  try {
    await body(dp, port, client);
  } finally {
    await client.close();
    await dp.close(1000);
  }
}

let version = 0;
async function apply(dp: DataPlane, objects: readonly KubeObject[]): Promise<void> {
  const result = await dp.apply(String(++version), irOf(objects));
  assert.deepEqual(result.binds.filter((b) => b.error), []);
}

// ---- tests ----

test('a BackendTrafficPolicy picks RingHash by header: a header value always reaches the same upstream, values spread, and removing an endpoint moves only its keys', async () => {
  const ups = await upstreams(['u0', 'u1', 'u2', 'u3']);
  try {
    await withProxy({}, async (dp, port, client) => {
      const lb = policy('hash', 'app', { loadBalancer: { type: 'RingHash', hashKey: { type: 'Header', name: 'X-User' } } });
      await apply(dp, [...gateway(port), ...service('app', ups.map((upstream) => ({ upstream }))), route([{ backendRefs: [{ name: 'app' }] }]), lb]);
      const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
      const owner = new Map<string, string>();
      for (let round = 0; round < 3; round++) {
        for (const user of users) {
          const a = await get(client, { 'x-user': user });
          assert.equal(a.status, 200);
          if (round === 0) owner.set(user, a.upstream);
          else assert.equal(a.upstream, owner.get(user), `${user} stays on its upstream`);
        }
      }
      assert.ok(new Set(owner.values()).size >= 3, `keys spread over the endpoints: ${[...new Set(owner.values())]}`);
      // u3 goes: only its users move.
      await apply(dp, [...gateway(port), ...service('app', ups.slice(0, 3).map((upstream) => ({ upstream }))), route([{ backendRefs: [{ name: 'app' }] }]), lb]);
      for (const user of users) {
        const a = await get(client, { 'x-user': user });
        if (owner.get(user) !== 'u3') assert.equal(a.upstream, owner.get(user), `${user} did not move`);
        else assert.notEqual(a.upstream, 'u3');
      }
    });
  } finally {
    await Promise.all(ups.map((u) => u.close()));
  }
});

test('a sticky cookie keeps a client on its endpoint across requests and configuration swaps; Balanced moves off a terminating endpoint, Persistent stays until it is gone', async () => {
  const ups = await upstreams(['s0', 's1', 's2', 's3']);
  try {
    await withProxy({}, async (dp, port, client) => {
      const config = (eps: Ep[], spec: object) => [...gateway(port), ...service('app', eps), route([{ backendRefs: [{ name: 'app' }] }]), policy('sticky', 'app', spec)];
      const balanced = { sessionPersistence: { cookieName: 'pin', mode: 'Balanced' } };
      await apply(dp, config(ups.slice(0, 3).map((upstream) => ({ upstream })), balanced));
      const first = await get(client);
      const cookie = setCookie(first, 'pin');
      assert.ok(cookie, 'the first answer sets the cookie');
      assert.match(first.headers['set-cookie'] as string, /^pin=[A-Za-z0-9_-]{16}; Path=\/; HttpOnly$/);
      const pinned = first.upstream;
      const withCookie = async () => get(client, { cookie: `other=1; ${cookie}` });
      for (let i = 0; i < 12; i++) {
        const a = await withCookie();
        assert.equal(a.upstream, pinned);
        assert.equal(setCookie(a, 'pin'), undefined, 'no new cookie while it names the endpoint');
      }
      const spread = new Set<string>();
      for (let i = 0; i < 6; i++) spread.add((await get(client)).upstream);
      assert.ok(spread.size >= 2, 'clients without the cookie are balanced');
      // Swaps: an endpoint more; then another load balancer (a new balancer behind the cookie).
      await apply(dp, config(ups.map((upstream) => ({ upstream })), balanced));
      for (let i = 0; i < 8; i++) assert.equal((await withCookie()).upstream, pinned, 'after an endpoint was added');
      await apply(dp, config(ups.map((upstream) => ({ upstream })), { ...balanced, loadBalancer: { type: 'Random' } }));
      for (let i = 0; i < 8; i++) assert.equal((await withCookie()).upstream, pinned, 'after the load balancer changed');
      // Balanced: the endpoint terminates (ready=false, still serving) → the client moves, with a new cookie.
      const terminating = (name: string) => ups.map((upstream) => (upstream.name === name ? { upstream, ready: false, terminating: true } : { upstream }));
      await apply(dp, config(terminating(pinned), { ...balanced, loadBalancer: { type: 'Random' } }));
      const moved = await withCookie();
      assert.notEqual(moved.upstream, pinned);
      const next = setCookie(moved, 'pin');
      assert.ok(next && next !== cookie, 'a new cookie for the new endpoint');
      for (let i = 0; i < 6; i++) assert.equal((await get(client, { cookie: next })).upstream, moved.upstream);
      // Persistent: pinned to an endpoint that then terminates → stays while it serves; moves once it is gone.
      const persistent = { sessionPersistence: { cookieName: 'pin', mode: 'Persistent' } };
      await apply(dp, config(ups.map((upstream) => ({ upstream })), persistent));
      for (let i = 0; i < 4; i++) assert.equal((await get(client, { cookie: next })).upstream, moved.upstream);
      await apply(dp, config(terminating(moved.upstream), persistent));
      for (let i = 0; i < 6; i++) assert.equal((await get(client, { cookie: next })).upstream, moved.upstream, 'Persistent stays on a serving terminating endpoint');
      await apply(dp, config(ups.filter((u) => u.name !== moved.upstream).map((upstream) => ({ upstream })), persistent));
      const gone = await get(client, { cookie: next });
      assert.equal(gone.status, 200);
      assert.notEqual(gone.upstream, moved.upstream);
      assert.ok(setCookie(gone, 'pin'));
    });
  } finally {
    await Promise.all(ups.map((u) => u.close()));
  }
});

test('HTTPRoute sessionPersistence by cookie: the session\'s endpoint is found across the rule\'s backends before the weighted choice, across swaps', async () => {
  const ups = await upstreams(['blue-0', 'blue-1', 'green-0', 'green-1']);
  try {
    await withProxy({}, async (dp, port, client) => {
      const objects = [
        ...gateway(port), ...service('blue', ups.slice(0, 2).map((upstream) => ({ upstream }))), ...service('green', ups.slice(2).map((upstream) => ({ upstream }))),
        route([{ backendRefs: [{ name: 'blue', weight: 1 }, { name: 'green', weight: 1 }], sessionPersistence: { sessionName: 'sess' } }]),
      ];
      await apply(dp, objects);
      const seen = new Set<string>();
      for (let i = 0; i < 8; i++) seen.add((await get(client)).upstream);
      assert.deepEqual([...seen].sort(), ['blue-0', 'blue-1', 'green-0', 'green-1'], 'without a session: the weighted choice, then the balancer');
      const first = await get(client);
      const cookie = setCookie(first, 'sess');
      assert.ok(cookie);
      assert.match(first.headers['set-cookie'] as string, /^sess=[A-Za-z0-9_-]{16}; Path=\/; HttpOnly$/);
      for (let i = 0; i < 12; i++) {
        const a = await get(client, { cookie });
        assert.equal(a.upstream, first.upstream, 'both backends alternate in the weighted choice, the session wins');
        assert.equal(setCookie(a, 'sess'), undefined);
      }
      await apply(dp, objects);
      for (let i = 0; i < 4; i++) assert.equal((await get(client, { cookie })).upstream, first.upstream, 'after a swap');
      // A forged token is no session: it is balanced and replaced.
      const forged = await get(client, { cookie: 'sess=AAAAAAAAAAAAAAAA' });
      assert.ok(setCookie(forged, 'sess'));
    });
  } finally {
    await Promise.all(ups.map((u) => u.close()));
  }
});

test('HTTPRoute sessionPersistence by header with an absolute timeout: the session holds, then expires', async () => {
  const ups = await upstreams(['h0', 'h1', 'h2']);
  try {
    await withProxy({}, async (dp, port, client) => {
      await apply(dp, [
        ...gateway(port), ...service('app', ups.map((upstream) => ({ upstream }))),
        route([{ backendRefs: [{ name: 'app' }], sessionPersistence: { type: 'Header', sessionName: 'X-Session', absoluteTimeout: '1500ms' } }]),
      ]);
      const startedAt = Date.now();
      const first = await get(client);
      const token = first.headers['x-session'] as string;
      assert.match(token, /^[A-Za-z0-9_-]{16}\.[0-9a-z]+\.[0-9a-z]+\.[A-Za-z0-9_-]{16}$/, 'the token: tag, start, renewal, signature');
      for (let i = 0; i < 6; i++) {
        const a = await get(client, { 'x-session': token });
        assert.equal(a.upstream, first.upstream);
        assert.equal(a.headers['x-session'], undefined, 'a valid token is not reissued');
      }
      assert.ok(Date.now() - startedAt < 1400, 'the checks above ran within the timeout');
      await sleep(1600 - (Date.now() - startedAt));
      const after = await get(client, { 'x-session': token });
      assert.ok(after.headers['x-session'] && after.headers['x-session'] !== token, 'an expired session gets a new token');
      const spread = new Set<string>();
      for (let i = 0; i < 6; i++) spread.add((await get(client, { 'x-session': token })).upstream);
      assert.ok(spread.size >= 2, `the expired token pins nothing: ${[...spread]}`);
    });
  } finally {
    await Promise.all(ups.map((u) => u.close()));
  }
});

test('HTTPRoute sessionPersistence with an idle timeout: renewed while used, ended by idleness', async () => {
  const ups = await upstreams(['i0', 'i1', 'i2']);
  try {
    await withProxy({}, async (dp, port, client) => {
      await apply(dp, [
        ...gateway(port), ...service('app', ups.map((upstream) => ({ upstream }))),
        route([{ backendRefs: [{ name: 'app' }], sessionPersistence: { sessionName: 'idle', idleTimeout: '1s' } }]),
      ]);
      const first = await get(client);
      let cookie = setCookie(first, 'idle')!;
      let renewals = 0;
      const until = Date.now() + 2500;
      while (Date.now() < until) {
        await sleep(150);
        const a = await get(client, { cookie });
        assert.equal(a.upstream, first.upstream, 'used every 150 ms, the session outlives its idle timeout');
        const renewed = setCookie(a, 'idle');
        if (renewed) {
          renewals++;
          cookie = renewed;
        }
      }
      assert.ok(renewals >= 2, `the token was renewed as it was used (${renewals})`);
      await sleep(1200);
      const idle = await get(client, { cookie });
      assert.ok(setCookie(idle, 'idle'), 'after 1.2 s idle the session ended: a new one starts');
    });
  } finally {
    await Promise.all(ups.map((u) => u.close()));
  }
});

/** Answers `<name>\n` a millisecond later, so that requests are in flight when it drains. */
function podLike(name: string): Promise<Upstream> {
  return startUpstream(name, (req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.end(`${name}\n`), 1));
  });
}

interface Load {
  readonly failures: string[];
  /** Responses by upstream name, in the order they arrived. */
  readonly answers: string[];
  stop(): Promise<void>;
}

function startLoad(port: number, connections: number): Load {
  const client = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1 });
  let stopped = false;
  const load: Load = { failures: [], answers: [], stop: async () => {
    stopped = true;
    await Promise.all(loops);
    await client.close();
  } };
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const res = await client.request({ path: '/', method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
        const text = (await res.body.text()).trim();
        if (res.statusCode === 200) load.answers.push(text);
        else load.failures.push(`${res.statusCode} ${text}`);
      } catch (err) {
        load.failures.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: connections }, loop);
  return load;
}

async function answersFor(load: Load, ms: number): Promise<string[]> {
  const from = load.answers.length;
  await sleep(ms);
  return load.answers.slice(from);
}

test('zones: local-zone endpoints get all the traffic; as the local zone terminates and empties one endpoint at a time under load, traffic moves to the other zone with zero failed requests', { timeout: 60_000 }, async () => {
  const zoneA = await Promise.all(['a0', 'a1', 'a2'].map(podLike));
  const zoneB = await Promise.all(['b0', 'b1', 'b2'].map(podLike));
  try {
    await withProxy({ zone: 'zone-a' }, async (dp, port) => {
      const config = (a: Ep[]) => [
        ...gateway(port),
        ...service('app', [...a, ...zoneB.map((upstream) => ({ upstream, zone: 'zone-b' }))], { spec: { trafficDistribution: 'PreferClose' } }),
        route([{ backendRefs: [{ name: 'app' }] }]),
      ];
      let left: Ep[] = zoneA.map((upstream) => ({ upstream, zone: 'zone-a' }));
      await apply(dp, config(left));
      const load = startLoad(port, 8);
      try {
        const local = await answersFor(load, 300);
        assert.ok(local.length > 50, `enough traffic (${local.length})`);
        assert.deepEqual([...new Set(local)].sort(), ['a0', 'a1', 'a2'], 'Waygate in zone-a: all traffic to zone-a');
        // One at a time: terminating (serving, not ready), then drained and removed, as a pod goes.
        for (const pod of zoneA) {
          left = left.map((e) => (e.upstream === pod ? { ...e, ready: false, terminating: true } : e));
          await apply(dp, config(left));
          const window = await answersFor(load, 150);
          const stillReady = left.filter((e) => e.ready !== false).map((e) => e.upstream.name);
          if (stillReady.length > 0) assert.ok(window.every((n) => n.startsWith('a')), `zone-a still has ${stillReady}: traffic stays there`);
          const drained = pod.drain();
          left = left.filter((e) => e.upstream !== pod);
          await apply(dp, config(left));
          await drained;
          await answersFor(load, 100);
        }
        const remote = await answersFor(load, 300);
        assert.ok(remote.length > 50, `enough traffic (${remote.length})`);
        assert.deepEqual([...new Set(remote)].sort(), ['b0', 'b1', 'b2'], 'zone-a empty: every request goes to zone-b');
      } finally {
        await load.stop();
      }
      assert.deepEqual(load.failures, [], 'zero failed requests');
    });
  } finally {
    await Promise.all([...zoneA, ...zoneB].map((u) => u.close()));
  }
});

test('zones: hints decide which endpoints are local; below minEndpoints local ones, every zone is used; never a zone without usable endpoints', () => {
  const picks = (inputs: EndpointInput[], minEndpoints = 1) => {
    const b = new RoundRobinBalancer({ zonePreference: { zone: 'a', minEndpoints } });
    b.update(inputs);
    return [...new Set(Array.from({ length: 12 }, () => b.pick({})?.key))].sort();
  };
  const cases: [string, EndpointInput[], number, (string | undefined)[]][] = [
    ['zone match without hints', [{ key: 'x', zone: 'a' }, { key: 'y', zone: 'b' }], 1, ['x']],
    ['hints win over the zone', [{ key: 'x', zone: 'a', forZones: ['b'] }, { key: 'y', zone: 'b', forZones: ['a'] }], 1, ['y']],
    ['too few local endpoints: all zones', [{ key: 'x', zone: 'a' }, { key: 'y', zone: 'b' }, { key: 'z', zone: 'b' }], 2, ['x', 'y', 'z']],
    ['local only terminating, remote ready: remote', [{ key: 'x', zone: 'a', ready: false, terminating: true }, { key: 'y', zone: 'b' }], 1, ['y']],
    ['nothing ready: local draining first', [{ key: 'x', zone: 'a', ready: false, terminating: true }, { key: 'y', zone: 'b', ready: false, terminating: true }], 1, ['x']],
    ['local ejected: remote', [{ key: 'x', zone: 'a', ejected: true }, { key: 'y', zone: 'b' }], 1, ['y']],
    ['no local zone at all: every endpoint', [{ key: 'x', zone: 'c' }, { key: 'y' }], 1, ['x', 'y']],
  ];
  for (const [name, inputs, min, expected] of cases) assert.deepEqual(picks(inputs, min), expected, name);
});

test('a retry policy sends an idempotent request whose answer was a gateway error, or too slow, to another endpoint; a POST is not retried', async () => {
  const good = await startUpstream('good');
  const bad = await startUpstream('bad', (req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = 503;
      res.end('bad\n');
    });
  });
  const slow = await startUpstream('slow', (req, res) => {
    req.resume();
    req.on('end', () => setTimeout(() => res.end('slow\n'), 2000));
  });
  try {
    await withProxy({}, async (dp, port, client) => {
      const config = (eps: Upstream[], retries: object) => [
        ...gateway(port), ...service('app', eps.map((upstream) => ({ upstream }))), route([{ backendRefs: [{ name: 'app' }] }]),
        // Outlier detection off: it would eject the failing endpoint, and nothing would be left to retry.
        policy('retry', 'app', { retries, outlierDetection: { consecutiveGatewayFailures: 0 } }),
      ];
      await apply(dp, config([good, bad], { attempts: 2, retryOn: ['gateway-error'] }));
      for (let i = 0; i < 8; i++) {
        const a = await get(client);
        assert.deepEqual([a.status, a.upstream], [200, 'good'], 'a GET that met the 503 went to the other endpoint');
      }
      const posts = new Set<number>();
      for (let i = 0; i < 6; i++) {
        const res = await client.request({ path: '/', method: 'POST', body: 'x' });
        await res.body.dump();
        posts.add(res.statusCode);
      }
      assert.deepEqual([...posts].sort(), [200, 503], 'a POST is never retried by policy');
      await apply(dp, config([good, slow], { attempts: 1, retryOn: ['gateway-error'], perTryTimeout: '200ms' }));
      for (let i = 0; i < 4; i++) {
        const started = Date.now();
        const a = await get(client);
        assert.deepEqual([a.status, a.upstream], [200, 'good']);
        assert.ok(Date.now() - started < 1500, 'the slow attempt was cut by the per-try timeout');
      }
    });
  } finally {
    await Promise.all([good.close(), bad.close(), slow.close()]);
  }
});
