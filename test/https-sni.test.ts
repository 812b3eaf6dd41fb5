// HTTPS binds: the TLS server name chooses the listener and its certificate (exact, wildcard,
// several certificates on one listener, several listeners on one port), with TLS defaults.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as connectTcp } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import { DataPlane } from '../src/dataplane/index.ts';
import { makeCA, makeLeafCertificate, makeSelfSignedCertificate, type TestCertificate } from './helpers/certificates.ts';
import { fingerprint, httpsBind, httpsGet, httpsListener, irCertificate } from './helpers/https-client.ts';
import { backend, forward, ir } from './helpers/ir.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

describe('HTTPS: server name → listener and certificate', () => {
  let ca: TestCertificate;
  const certs: Record<string, TestCertificate> = {};
  let upstreams: Upstream[];
  let port: number;
  let dp: DataPlane;
  before(async () => {
    ca = makeCA();
    certs.exact = makeLeafCertificate(ca, ['a.example.com'], { keyType: 'ecdsa' });
    certs.wild = makeLeafCertificate(ca, ['*.example.com'], { keyType: 'rsa' });
    certs.b = makeLeafCertificate(ca, ['b.other.test'], { keyType: 'ecdsa' });
    certs.c = makeLeafCertificate(ca, ['c.other.test', '*.c.other.test'], { keyType: 'ecdsa' });
    certs.fallback = makeLeafCertificate(ca, ['default.test'], { keyType: 'ecdsa' });
    upstreams = await Promise.all(['exact', 'wild', 'other', 'fallback'].map((n) => startUpstream(n)));
    port = await freePort();
    dp = new DataPlane({});
    const c = {
      exact: irCertificate('exact', certs.exact, ['a.example.com']),
      wild: irCertificate('wild', certs.wild, ['*.example.com']),
      b: irCertificate('b', certs.b, ['b.other.test']),
      c: irCertificate('c', certs.c, ['c.other.test', '*.c.other.test']),
      fallback: irCertificate('fallback', certs.fallback, ['default.test']),
    };
    const config = {
      ...ir([httpsBind(port, [
        httpsListener('gw/exact', [forward('r-exact', 'svc/exact')], 'a.example.com', [c.exact]),
        httpsListener('gw/wild', [forward('r-wild', 'svc/wild')], '*.example.com', [c.wild]),
        httpsListener('gw/other', [forward('r-other', 'svc/other')], '*.other.test', [c.b, c.c]),
        httpsListener('gw/fallback', [forward('r-fallback', 'svc/fallback')], undefined, [c.fallback]),
      ])], upstreams.map((u) => backend(`svc/${u.name}`, [u.port]))),
      certificates: Object.values(c).sort((x, y) => (x.name < y.name ? -1 : 1)),
    };
    const result = await dp.apply('v1', config);
    assert.deepEqual(result.binds, [{ name: `127.0.0.1:${port}` }]);
    assert.deepEqual(dp.tlsErrors(), new Map());
  });
  after(async () => {
    await dp.close(1000);
    await Promise.all(upstreams.map((u) => u.close()));
  });

  test('each server name gets its listener and the matching certificate', async () => {
    const cases: [string, string, string][] = [
      ['a.example.com', 'exact', 'exact'], // exact listener, exact certificate
      ['A.Example.COM', 'exact', 'exact'], // names are case-insensitive
      ['x.example.com', 'wild', 'wild'], // wildcard listener
      ['deep.x.example.com', 'wild', 'wild'], // the listener's wildcard takes every depth, like Host
      ['b.other.test', 'b', 'other'], // two certificates on one listener: the one for the name
      ['c.other.test', 'c', 'other'],
      ['z.c.other.test', 'c', 'other'], // a certificate's wildcard
      ['z.other.test', 'b', 'other'], // no certificate names it: the listener's first
      ['unknown.test', 'fallback', 'fallback'], // no hostname matches: the listener without hostname
    ];
    for (const [servername, cert, upstream] of cases) {
      const res = await httpsGet({ port, ca: ca.certPem, servername });
      assert.equal(res.status, 200, servername);
      assert.equal(res.body, `${upstream}\n`, servername);
      assert.equal(res.certificate, fingerprint(certs[cert]), `${servername} gets the ${cert} certificate`);
      assert.equal(res.alpn, 'http/1.1');
    }
  });

  test('without a server name, the listener without hostname and its certificate', async () => {
    const res = await httpsGet({ port, ca: ca.certPem, host: 'whatever.test' });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'fallback\n');
    assert.equal(res.certificate, fingerprint(certs.fallback));
  });

  test('a real client verifies the chain and the name (no verification bypass)', async () => {
    const res = await new Promise<number>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, servername: 'a.example.com', ca: ca.certPem }, () => {
        resolve(s.authorized ? 1 : 0);
        s.end();
      });
      s.on('error', reject);
    });
    assert.equal(res, 1);
  });

  test('upstreams see X-Forwarded-Proto https, whatever the client claimed', async () => {
    const res = await httpsGet({ port, ca: ca.certPem, servername: 'a.example.com', headers: { 'x-forwarded-proto': 'http' } });
    assert.equal(res.status, 200);
    const seen = upstreams[0].seen.at(-1)!;
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
  });

  test('the proxy limits hold on HTTPS binds: a request head over maxHeaderBytes gets 431', async () => {
    const res = await httpsGet({ port, ca: ca.certPem, servername: 'a.example.com', headers: { 'x-big': 'x'.repeat(20 * 1024) } });
    assert.equal(res.status, 431);
  });

  test('TLS 1.1 and older are refused; TLS 1.2 and 1.3 are served', async () => {
    const handshake = (minVersion: 'TLSv1' | 'TLSv1.2' | 'TLSv1.3', maxVersion: 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3') =>
      new Promise<string>((resolve) => {
        const s = connect({ host: '127.0.0.1', port, servername: 'a.example.com', ca: ca.certPem, minVersion, maxVersion, ciphers: 'DEFAULT:@SECLEVEL=0' }, () => {
          resolve(s.getProtocol() ?? '');
          s.end();
        });
        s.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? err.message}`));
      });
    assert.match(await handshake('TLSv1', 'TLSv1.1'), /^error/);
    assert.equal(await handshake('TLSv1.2', 'TLSv1.2'), 'TLSv1.2');
    assert.equal(await handshake('TLSv1.3', 'TLSv1.3'), 'TLSv1.3');
  });

  test('a session is resumed on a new connection (TLS 1.2 and 1.3)', async () => {
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const first = await sessionOf(port, ca.certPem, version);
      const reused = await new Promise<boolean>((resolve, reject) => {
        const s: TLSSocket = connect({ host: '127.0.0.1', port, servername: 'x.example.com', ca: ca.certPem, session: first, maxVersion: version }, () => {
          resolve(s.isSessionReused());
          s.end();
        });
        s.on('error', reject);
      });
      assert.equal(reused, true, version);
    }
  });
});

/** Handshakes, sends one request, and returns the session the server gave (ticket included). */
function sessionOf(port: number, ca: string, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const s = connect({ host: '127.0.0.1', port, servername: 'x.example.com', ca, maxVersion });
    s.on('session', (buf: Buffer) => (session = buf));
    s.on('secureConnect', () => s.write('GET / HTTP/1.1\r\nhost: x.example.com\r\nconnection: close\r\n\r\n'));
    s.on('data', () => undefined);
    s.on('end', () => (session === undefined ? reject(new Error('no session')) : resolve(session)));
    s.on('error', reject);
  });
}

describe('HTTPS: names no listener takes', () => {
  let ca: TestCertificate;
  let port: number;
  let dp: DataPlane;
  let upstream: Upstream;
  before(async () => {
    ca = makeCA();
    const cert = makeLeafCertificate(ca, ['only.example.com'], { keyType: 'ecdsa' });
    upstream = await startUpstream('only');
    port = await freePort();
    dp = new DataPlane({});
    const c = irCertificate('only', cert, ['only.example.com']);
    await dp.apply('v1', { ...ir([httpsBind(port, [httpsListener('gw/only', [forward('r', 'svc/only')], 'only.example.com', [c])])], [backend('svc/only', [upstream.port])]), certificates: [c] });
  });
  after(async () => {
    await dp.close(1000);
    await upstream.close();
  });

  test('a server name no listener takes, or none at all, fails the handshake: no other name\'s certificate is shown', async () => {
    await assert.rejects(httpsGet({ port, ca: ca.certPem, servername: 'other.example.com' }));
    await assert.rejects(httpsGet({ port, ca: ca.certPem, host: 'only.example.com' }));
    const res = await httpsGet({ port, ca: ca.certPem, servername: 'only.example.com' });
    assert.equal(res.body, 'only\n');
  });

  test('a self-signed certificate is served as it is', async () => {
    const self = makeSelfSignedCertificate(['self.example.com'], { keyType: 'ecdsa' });
    const c = irCertificate('self', self, ['self.example.com']);
    const p2 = await freePort();
    const dp2 = new DataPlane({});
    try {
      await dp2.apply('v1', { ...ir([httpsBind(p2, [httpsListener('gw/self', [forward('r', 'svc/only')], 'self.example.com', [c])])], [backend('svc/only', [upstream.port])]), certificates: [c] });
      const res = await httpsGet({ port: p2, ca: self.certPem, servername: 'self.example.com' });
      assert.equal(res.certificate, fingerprint(self));
      assert.equal(res.body, 'only\n');
    } finally {
      await dp2.close(1000);
    }
  });
});

describe('HTTPS: a client that never completes its handshake', () => {
  test('is cut after tlsHandshakeTimeoutMs', async () => {
    const ca = makeCA();
    const cert = makeLeafCertificate(ca, ['slow.example.com'], { keyType: 'ecdsa' });
    const c = irCertificate('slow', cert, ['slow.example.com']);
    const port = await freePort();
    const dp = new DataPlane({ limits: { tlsHandshakeTimeoutMs: 300 } });
    try {
      await dp.apply('v1', { ...ir([httpsBind(port, [httpsListener('gw/slow', [forward('r', 'svc/none')], 'slow.example.com', [c])])], [backend('svc/none', [1])]), certificates: [c] });
      const started = performance.now();
      const closed = await new Promise<number>((resolve) => {
        // A TCP connection that sends no ClientHello.
        const s = connectTcp(port, '127.0.0.1');
        s.on('error', () => undefined);
        s.on('close', () => resolve(performance.now() - started));
      });
      assert.ok(closed < 10_000, `closed after ${closed.toFixed(0)} ms, well before the 30 s header timeout`);
    } finally {
      await dp.close(1000);
    }
  });
});
