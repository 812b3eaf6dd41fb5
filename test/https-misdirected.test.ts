// Listener hostname (Gateway API), HTTPS: a request whose Host selects another listener than
// the TLS server name did is answered 421 Misdirected Request; a Host no listener matches, 404.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DataPlane } from '../src/dataplane/index.ts';
import type { IR } from '../src/ir/index.ts';
import { makeCA, makeLeafCertificate, type TestCertificate } from './helpers/certificates.ts';
import { httpsBind, httpsGet, httpsListener, irCertificate, openTls } from './helpers/https-client.ts';
import { backend, forward, ir } from './helpers/ir.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

function config(port: number, upstreams: Upstream[], ca: TestCertificate, withCatchAll: boolean): IR {
  const exact = irCertificate('exact', makeLeafCertificate(ca, ['a.example.com'], { keyType: 'ecdsa' }), ['a.example.com']);
  const wild = irCertificate('wild', makeLeafCertificate(ca, ['*.example.com'], { keyType: 'ecdsa' }), ['*.example.com']);
  const any = irCertificate('any', makeLeafCertificate(ca, ['any.test'], { keyType: 'ecdsa' }), ['any.test']);
  const listeners = [
    httpsListener('gw/exact', [forward('r-exact', 'svc/exact')], 'a.example.com', [exact]),
    httpsListener('gw/wild', [forward('r-wild', 'svc/wild')], '*.example.com', [wild]),
    ...(withCatchAll ? [httpsListener('gw/any', [forward('r-any', 'svc/any')], undefined, [any])] : []),
  ];
  return { ...ir([httpsBind(port, listeners)], upstreams.map((u) => backend(`svc/${u.name}`, [u.port]))), certificates: withCatchAll ? [any, exact, wild] : [exact, wild] };
}

for (const withCatchAll of [false, true]) {
  describe(`misdirected requests, ${withCatchAll ? 'with' : 'without'} a listener without hostname`, () => {
    let ca: TestCertificate;
    let upstreams: Upstream[];
    let port: number;
    let dp: DataPlane;
    before(async () => {
      ca = makeCA();
      upstreams = await Promise.all(['exact', 'wild', 'any'].map((n) => startUpstream(n)));
      port = await freePort();
      dp = new DataPlane({});
      await dp.apply('v1', config(port, upstreams, ca, withCatchAll));
    });
    after(async () => {
      await dp.close(1000);
      await Promise.all(upstreams.map((u) => u.close()));
    });

    test('a Host of the listener the server name chose is served, even another name of it', async () => {
      assert.equal((await httpsGet({ port, ca: ca.certPem, servername: 'a.example.com' })).body, 'exact\n');
      const other = await httpsGet({ port, ca: ca.certPem, servername: 'x.example.com', host: 'y.example.com:443' });
      assert.equal(other.status, 200);
      assert.equal(other.body, 'wild\n');
    });

    test('another listener matching the Host more specifically: 421', async () => {
      // SNI x.example.com chose the wildcard listener; Host a.example.com is the exact listener's.
      const res = await httpsGet({ port, ca: ca.certPem, servername: 'x.example.com', host: 'a.example.com' });
      assert.equal(res.status, 421);
      assert.equal(upstreams[0].seen.length, 1, 'only the first test reached the exact listener');
    });

    test('the chosen listener not matching the Host while another does: 421', async () => {
      const res = await httpsGet({ port, ca: ca.certPem, servername: 'a.example.com', host: 'b.example.com' });
      assert.equal(res.status, 421);
      assert.equal(upstreams[1].seen.length, 1);
    });

    test(`a Host no other listener matches: ${withCatchAll ? '421 (the listener without hostname matches it)' : '404'}`, async () => {
      const res = await httpsGet({ port, ca: ca.certPem, servername: 'a.example.com', host: 'elsewhere.test' });
      assert.equal(res.status, withCatchAll ? 421 : 404);
    });

    test('a connection reused for another listener\'s host gets 421, and stays usable', async () => {
      // What a coalescing client does: one connection (SNI z.example.com) for several hosts.
      const conn = await openTls(port, 'z.example.com', ca.certPem);
      try {
        assert.deepEqual(await conn.get('z.example.com'), { status: 200, body: 'wild\n' });
        assert.equal((await conn.get('a.example.com')).status, 421);
        assert.deepEqual(await conn.get('y.example.com'), { status: 200, body: 'wild\n' });
      } finally {
        conn.socket.destroy();
      }
    });
  });
}
