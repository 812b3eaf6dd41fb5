// Certificate rotation (a Secret's new content in a new IR) under load: new handshakes see the
// new certificate as soon as apply() returns, established connections are not closed and keep
// working, and no request fails.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'undici';
import { DataPlane } from '../src/dataplane/index.ts';
import { SecureContexts } from '../src/dataplane/tls/secure-contexts.ts';
import type { IR } from '../src/ir/index.ts';
import { makeCA, makeLeafCertificate, type TestCertificate } from './helpers/certificates.ts';
import { fingerprint, httpsBind, httpsGet, httpsListener, irCertificate, openTls } from './helpers/https-client.ts';
import { backend, forward, ir } from './helpers/ir.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

const HOST = 'rot.example.com';
const ROTATIONS = 4;
const KEEP_ALIVE_CLIENTS = 8;
const NEW_CONNECTION_LOOPS = 4;

let ca: TestCertificate;
let certs: TestCertificate[];
let upstream: Upstream;
let port: number;
let dp: DataPlane;

function config(cert: TestCertificate): IR {
  const c = irCertificate('rot', cert, [HOST]);
  return { ...ir([httpsBind(port, [httpsListener('gw/https', [forward('r', 'svc/a')], HOST, [c])])], [backend('svc/a', [upstream.port])]), certificates: [c] };
}

before(async () => {
  ca = makeCA();
  certs = Array.from({ length: ROTATIONS + 1 }, (_, i) => makeLeafCertificate(ca, [HOST], { keyType: i % 2 === 0 ? 'ecdsa' : 'rsa' }));
  upstream = await startUpstream('a');
  port = await freePort();
  dp = new DataPlane({});
  await dp.apply('v0', config(certs[0]));
});
after(async () => {
  await dp.close(1000);
  await upstream.close();
});

test('rotating the certificate several times under load: zero failures, no connection closed, new handshakes see each new certificate', async () => {
  const failures: string[] = [];
  let stop = false;
  let keptAliveRequests = 0;
  let newConnectionRequests = 0;
  // Keep-alive load: one connection per client, opened before the first rotation.
  const clients = Array.from({ length: KEEP_ALIVE_CLIENTS }, () => new Client(`https://127.0.0.1:${port}`, { connect: { ca: ca.certPem, servername: HOST } }));
  let connects = 0;
  let disconnects = 0;
  for (const c of clients) {
    c.on('connect', () => connects++);
    c.on('disconnect', () => disconnects++);
  }
  const keepAlive = clients.map(async (c) => {
    while (!stop) {
      try {
        const res = await c.request({ path: '/', method: 'GET', headers: { host: HOST } });
        const body = await res.body.text();
        if (res.statusCode !== 200 || body !== 'a\n') failures.push(`keep-alive: ${res.statusCode} ${body}`);
        keptAliveRequests++;
      } catch (err) {
        failures.push(`keep-alive: ${(err as Error).message}`);
      }
    }
  });
  // New-connection load: every request its own TLS handshake.
  const fresh = Array.from({ length: NEW_CONNECTION_LOOPS }, async () => {
    while (!stop) {
      try {
        const res = await httpsGet({ port, ca: ca.certPem, servername: HOST });
        if (res.status !== 200) failures.push(`new connection: ${res.status}`);
        newConnectionRequests++;
      } catch (err) {
        failures.push(`new connection: ${(err as Error).message}`);
      }
    }
  });
  // One connection established before the rotations, used once after all of them.
  const old = await openTls(port, HOST, ca.certPem);
  assert.equal(old.socket.getPeerCertificate().fingerprint256, fingerprint(certs[0]));

  for (let i = 1; i <= ROTATIONS; i++) {
    const before = keptAliveRequests;
    await new Promise((r) => setTimeout(r, 150));
    await dp.apply(`v${i}`, config(certs[i]));
    const seen = await httpsGet({ port, ca: ca.certPem, servername: HOST });
    assert.equal(seen.certificate, fingerprint(certs[i]), `a handshake after rotation ${i} sees certificate ${i}`);
    assert.ok(keptAliveRequests > before, `keep-alive requests went on around rotation ${i}`);
  }
  await new Promise((r) => setTimeout(r, 150));
  stop = true;
  await Promise.all([...keepAlive, ...fresh]);

  assert.deepEqual(failures, []);
  assert.equal(connects, KEEP_ALIVE_CLIENTS, 'each keep-alive client kept its one connection');
  assert.equal(disconnects, 0, 'no keep-alive connection was closed');
  assert.ok(newConnectionRequests >= ROTATIONS, `new connections were made throughout (${newConnectionRequests})`);
  // The connection opened before the rotations still works, on the certificate it was opened with.
  assert.deepEqual(await old.get(HOST), { status: 200, body: 'a\n' });
  assert.equal(old.socket.getPeerCertificate().fingerprint256, fingerprint(certs[0]));
  old.socket.destroy();
  await Promise.all(clients.map((c) => c.close()));
});

test('a secure context is built once per certificate content, and dropped when no longer served', () => {
  const contexts = new SecureContexts();
  const a = irCertificate('rot', certs[0], [HOST]);
  const first = contexts.load([a]).get(a.name)!;
  // The same content in another IR object, as a worker receives it each version: the same context.
  const again = contexts.load([{ ...a }]).get(a.name)!;
  assert.ok(first.ok && again.ok);
  assert.equal(again.context, first.context);
  const rotated = contexts.load([irCertificate('rot', certs[1], [HOST])]).get(a.name)!;
  assert.ok(rotated.ok);
  assert.notEqual(rotated.context, first.context);
  assert.equal(contexts.size, 1, 'the old content is no longer held');
  const broken = contexts.load([{ ...a, privateKeyPem: certs[1].keyPem }]).get(a.name)!;
  assert.equal(broken.ok, false, 'a key that does not fit its certificate is refused');
  assert.match(broken.ok ? '' : broken.error, /certificate secret\/default\/rot:/);
});

test('rotating the certificate of the listener without hostname: clients without SNI get the new one', async () => {
  const p = await freePort();
  const plane = new DataPlane({});
  const catchAll = (cert: TestCertificate): IR => {
    const c = irCertificate('any', cert, [HOST]);
    return { ...ir([httpsBind(p, [httpsListener('gw/any', [forward('r', 'svc/a')], undefined, [c])])], [backend('svc/a', [upstream.port])]), certificates: [c] };
  };
  try {
    await plane.apply('v1', catchAll(certs[0]));
    const old = await openTls(p, '', ca.certPem);
    assert.equal(old.socket.getPeerCertificate().fingerprint256, fingerprint(certs[0]));
    await plane.apply('v2', catchAll(certs[1]));
    const res = await httpsGet({ port: p, ca: ca.certPem, host: HOST });
    assert.equal(res.certificate, fingerprint(certs[1]));
    assert.deepEqual(await old.get(HOST), { status: 200, body: 'a\n' }, 'the connection opened before still works');
    old.socket.destroy();
  } finally {
    await plane.close(1000);
  }
});
