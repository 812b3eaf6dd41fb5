// End to end: WebSocket through `waygate serve` with 2 workers, to a Service whose port says
// `appProtocol: kubernetes.io/ws` (HTTPRouteBackendProtocolWebSocket), with real `ws` backends.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { freePort } from './helpers/ports.ts';
import { removeDir, startWaygate, tempDir, writeManifest, type RunningWaygate } from './helpers/waygate.ts';
import { closed, openWs, roundTrip, startEchoServer, type EchoServer } from './websocket-helpers.ts';

function manifests(gatewayPort: number, echoPorts: number[], extraRoutes: number): string {
  const docs = [
    `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: waygate}
spec: {controllerName: waygate.dev/gateway-controller}`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: waygate
  listeners:
    - {name: http, protocol: HTTP, port: ${gatewayPort}}`,
    `apiVersion: v1
kind: Service
metadata: {name: chat, namespace: default}
spec:
  ports: [{name: ws, port: 80, appProtocol: kubernetes.io/ws}]`,
    `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: chat-1
  namespace: default
  labels: {kubernetes.io/service-name: chat}
addressType: IPv4
ports: [{name: ws, port: ${echoPorts[0]}}]
endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]`,
    `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: chat-2
  namespace: default
  labels: {kubernetes.io/service-name: chat}
addressType: IPv4
ports: [{name: ws, port: ${echoPorts[1]}}]
endpoints: [{addresses: ["127.0.0.1"], conditions: {ready: true}}]`,
    // timeouts.request bounds the handshake only: the connections below outlive it.
    `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: chat, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
    - matches: [{path: {type: PathPrefix, value: /chat}}]
      timeouts: {request: 300ms}
      backendRefs: [{name: chat, port: 80}]`,
  ];
  for (let i = 0; i < extraRoutes; i++) {
    docs.push(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: extra-${i}, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: PathPrefix, value: /extra-${i}}}], backendRefs: [{name: chat, port: 80}]}]`);
  }
  return docs.join('\n---\n') + '\n';
}

describe('WebSocket through waygate serve (2 workers)', () => {
  let dir: string, port: number, echoes: EchoServer[], wg: RunningWaygate;

  before(async () => {
    dir = await tempDir();
    echoes = [await startEchoServer('a'), await startEchoServer('b')];
    port = await freePort();
    await writeManifest(dir, 'all.yaml', manifests(port, echoes.map((e) => e.port), 0));
    wg = await startWaygate(dir, { workers: 2 });
    await wg.waitReady();
  });
  after(async () => {
    await wg?.stop();
    await Promise.all(echoes.map((e) => e.close()));
    await removeDir(dir);
  });

  test('connections to both endpoints echo, outlive timeouts.request and survive configuration changes', async () => {
    const sockets = await Promise.all(Array.from({ length: 6 }, () => openWs(`ws://127.0.0.1:${port}/chat`)));
    // timeouts.request (300 ms) bounds the handshake, not the connection.
    await new Promise((r) => setTimeout(r, 600));
    const names = new Set<string>();
    for (const [i, ws] of sockets.entries()) names.add((await roundTrip(ws, `m${i}`)).split(':')[0]);
    assert.deepEqual([...names].sort(), ['a', 'b'], 'both endpoints serve');
    const handshake = echoes.flatMap((e) => e.handshakes).at(-1)!;
    assert.equal(handshake.url, '/chat');
    assert.equal(handshake.headers['x-forwarded-proto'], 'http');
    for (let v = 1; v <= 3; v++) {
      const seq = Number(((await wg.getJson('/api/config')) as { version: string }).version.split('-')[0]);
      await writeManifest(dir, 'all.yaml', manifests(port, echoes.map((e) => e.port), v));
      await wg.waitVersion(seq + 1);
      for (const [i, ws] of sockets.entries()) assert.match(await roundTrip(ws, `v${v}-${i}`), new RegExp(`^[ab]:v${v}-${i}$`));
    }
    for (const ws of sockets) ws.close(1000);
    assert.deepEqual(await Promise.all(sockets.map(closed)), sockets.map(() => 1000));
  });

  test('the route to the kubernetes.io/ws port is accepted with its refs resolved; the GatewayClass lists the feature', async () => {
    type Status = { kind: string; metadata: { name: string }; status: { parents?: { conditions: { type: string; status: string }[] }[] } };
    const statuses = (await wg.getJson('/api/status')) as Status[];
    const route = statuses.find((s) => s.kind === 'HTTPRoute' && s.metadata.name === 'chat')!;
    const conditions = Object.fromEntries(route.status.parents![0].conditions.map((c) => [c.type, c.status]));
    assert.equal(conditions.Accepted, 'True');
    assert.equal(conditions.ResolvedRefs, 'True');
    const gatewayClass = JSON.stringify(statuses.find((s) => s.kind === 'GatewayClass'));
    assert.match(gatewayClass, /"name":"HTTPRouteBackendProtocolWebSocket"/);
  });
});
