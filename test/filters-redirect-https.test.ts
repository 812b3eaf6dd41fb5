// Redirects on an HTTPS bind: the request's scheme is https, the listener's port 443 is left
// out of Location, and a redirect to http uses port 80 (left out too): a real TLS client.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DataPlane } from '../src/dataplane/index.ts';
import { makeCA, makeLeafCertificate, type TestCertificate } from './helpers/certificates.ts';
import { httpsBind, httpsGet, httpsListener, irCertificate } from './helpers/https-client.ts';
import { ir, prefix, redirect } from './helpers/ir.ts';
import { freePort } from './helpers/ports.ts';

describe('redirects on an HTTPS listener', () => {
  let ca: TestCertificate, port: number, dp: DataPlane;
  before(async () => {
    ca = makeCA();
    const cert = irCertificate('site', makeLeafCertificate(ca, ['site.example.com'], { keyType: 'ecdsa' }), ['site.example.com']);
    port = await freePort();
    dp = new DataPlane({});
    const listener = httpsListener('gw/https', [
      redirect('keep', { statusCode: 302, path: { type: 'ReplacePrefixMatch', value: '/new' } }, prefix('/old')),
      redirect('to-http', { statusCode: 301, scheme: 'http' }, prefix('/plain')),
      redirect('other-port', { statusCode: 307, port: 8443 }, prefix('/port')),
    ], 'site.example.com', [cert]);
    const result = await dp.apply('v1', { ...ir([httpsBind(port, [listener])], []), certificates: [cert] });
    assert.deepEqual(result.binds, [{ name: `127.0.0.1:${port}` }]);
  });
  after(async () => {
    await dp.close(1000);
  });

  const get = (path: string) => httpsGet({ port, ca: ca.certPem, servername: 'site.example.com', path, agent: false });

  test('no scheme in the filter: https, and the listener port 443 is left out', async () => {
    const res = await get('/old/page?x=1');
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, 'https://site.example.com/new/page?x=1');
  });

  test('scheme http: its well-known port 80, left out', async () => {
    const res = await get('/plain/a');
    assert.equal(res.status, 301);
    assert.equal(res.headers.location, 'http://site.example.com/plain/a');
  });

  test('an explicit port is written', async () => {
    const res = await get('/port');
    assert.equal(res.status, 307);
    assert.equal(res.headers.location, 'https://site.example.com:8443/port');
  });
});
