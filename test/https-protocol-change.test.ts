// A bind whose protocol changes between versions (HTTP → HTTPS → HTTP on the same address and
// port) is drained and opened again with the new protocol; a request in flight finishes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { DataPlane } from '../src/dataplane/index.ts';
import type { IR } from '../src/ir/index.ts';
import { makeCA, makeLeafCertificate, type TestCertificate } from './helpers/certificates.ts';
import { fingerprint, httpsBind, httpsGet, httpsListener, irCertificate } from './helpers/https-client.ts';
import { backend, bind, forward, ir, listener } from './helpers/ir.ts';
import { freePort } from './helpers/ports.ts';
import { startUpstream, type Upstream } from './helpers/upstream.ts';

const HOST = 'switch.example.com';

function httpGet(port: number, path = '/'): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: { host: HOST } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

for (const reusePort of [false, true]) {
  describe(`protocol change of a bind (reusePort ${reusePort})`, () => {
    let ca: TestCertificate;
    let cert: TestCertificate;
    let upstream: Upstream;
    let port: number;
    let dp: DataPlane;
    const http = (): IR => ir([bind(port, [listener('gw/l', [forward('r', 'svc/a')], HOST)])], [backend('svc/a', [upstream.port])]);
    const https = (): IR => {
      const c = irCertificate('switch', cert, [HOST]);
      return { ...ir([httpsBind(port, [httpsListener('gw/l', [forward('r', 'svc/a')], HOST, [c])])], [backend('svc/a', [upstream.port])]), certificates: [c] };
    };
    before(async () => {
      ca = makeCA();
      cert = makeLeafCertificate(ca, [HOST], { keyType: 'ecdsa' });
      upstream = await startUpstream('a', (req, res) => {
        req.resume();
        const delay = req.url === '/slow' ? 400 : 0;
        setTimeout(() => res.end(`a ${req.headers['x-forwarded-proto']}\n`), delay);
      });
      port = await freePort();
      dp = new DataPlane({ reusePort });
    });
    after(async () => {
      await dp.close(1000);
      await upstream.close();
    });

    test('HTTP → HTTPS → HTTP: each version serves its protocol; requests in flight finish', async () => {
      assert.deepEqual((await dp.apply('v1', http())).binds, [{ name: `127.0.0.1:${port}` }]);
      assert.equal((await httpGet(port)).body, 'a http\n');

      const inFlight = httpGet(port, '/slow');
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual((await dp.apply('v2', https())).binds, [{ name: `127.0.0.1:${port}` }]);
      const secure = await httpsGet({ port, ca: ca.certPem, servername: HOST });
      assert.equal(secure.body, 'a https\n');
      assert.equal(secure.certificate, fingerprint(cert));
      await assert.rejects(httpGet(port), 'plain HTTP is not served any more');
      const drained = await inFlight;
      assert.equal(drained.status, 200);
      assert.equal(drained.body, 'a http\n');
      assert.equal(drained.connection, 'close', 'the old bind drains its connection');

      const secureInFlight = httpsGet({ port, ca: ca.certPem, servername: HOST, path: '/slow' });
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual((await dp.apply('v3', http())).binds, [{ name: `127.0.0.1:${port}` }]);
      assert.equal((await httpGet(port)).body, 'a http\n');
      await assert.rejects(httpsGet({ port, ca: ca.certPem, servername: HOST }), 'TLS is not served any more');
      assert.equal((await secureInFlight).body, 'a https\n');
    });
  });
}
