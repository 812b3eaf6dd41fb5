// parseTlsKeyPair: what an HTTPS listener's Secret must hold, checked with real certificates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeBase64, parseTlsKeyPair } from '../src/util/index.ts';
import { makeCA, makeLeafCertificate, makeSelfSignedCertificate } from './helpers/certificates.ts';

const ca = makeCA();

test('an RSA and an ECDSA leaf: their DNS names, lower-case and sorted, and the chain kept in order', () => {
  for (const keyType of ['rsa', 'ecdsa'] as const) {
    const leaf = makeLeafCertificate(ca, ['b.example.com', '*.A.example.com'], { keyType });
    const result = parseTlsKeyPair(leaf.certPem + ca.certPem, leaf.keyPem);
    assert.ok(result.ok, keyType);
    assert.deepEqual(result.pair.hostnames, ['*.a.example.com', 'b.example.com']);
    assert.equal(result.pair.certificatePem.match(/BEGIN CERTIFICATE/g)?.length, 2);
    assert.ok(result.pair.certificatePem.startsWith(leaf.certPem.trim().split('\n')[0]));
    assert.match(result.pair.privateKeyPem, /BEGIN PRIVATE KEY/);
  }
});

test('without subjectAltName the subject CN names the host; with one, the CN is not used', () => {
  const cnOnly = makeSelfSignedCertificate([], { commonName: 'legacy.example.com', keyType: 'ecdsa' });
  const parsed = parseTlsKeyPair(cnOnly.certPem, cnOnly.keyPem);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.pair.hostnames, ['legacy.example.com']);
  const san = makeLeafCertificate(ca, ['san.example.com'], { commonName: 'cn.example.com', keyType: 'ecdsa' });
  const both = parseTlsKeyPair(san.certPem, san.keyPem);
  assert.ok(both.ok);
  assert.deepEqual(both.pair.hostnames, ['san.example.com']);
});

test('a key of another certificate, no certificate, a broken one or a broken key: an error that shows no key', () => {
  const a = makeLeafCertificate(ca, ['a.example.com'], { keyType: 'ecdsa' });
  const b = makeLeafCertificate(ca, ['b.example.com'], { keyType: 'ecdsa' });
  const cases: [string, string, RegExp][] = [
    [a.certPem, b.keyPem, /does not match/],
    ['', a.keyPem, /no PEM certificate/],
    ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', a.keyPem, /not a valid X\.509/],
    [a.certPem, 'not a key', /not a valid unencrypted PEM private key/],
  ];
  for (const [cert, key, error] of cases) {
    const result = parseTlsKeyPair(cert, key);
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.match(result.error, error);
      assert.doesNotMatch(result.error, /PRIVATE KEY-----/);
    }
  }
});

test('decodeBase64 takes Secret data as the API server stores it and nothing else', () => {
  assert.equal(decodeBase64(Buffer.from('hello').toString('base64')), 'hello');
  assert.equal(decodeBase64('aGVs\nbG8='), 'hello');
  assert.equal(decodeBase64('-----BEGIN'), undefined);
  assert.equal(decodeBase64(7), undefined);
});
