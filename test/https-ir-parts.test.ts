// Certificates travel to workers as IR parts named by content hash: an unchanged certificate
// (and its private key) crosses the IPC channel once, not with every version.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import type { IR, IRCertificate } from '../src/ir/index.ts';
import { IRPacker, IRUnpacker, type PackedIR } from '../src/supervisor/index.ts';
import { httpsBind, httpsListener } from './helpers/https-client.ts';
import { backend, forward, ir } from './helpers/ir.ts';

const overIpc = (packed: PackedIR): PackedIR => deserialize(serialize(packed)) as PackedIR;

const cert = (name: string, serial: number): IRCertificate => ({
  name: `secret/default/${name}`,
  certificatePem: `-----BEGIN CERTIFICATE-----\n${name}-${serial}\n-----END CERTIFICATE-----\n`,
  privateKeyPem: `-----BEGIN PRIVATE KEY-----\nkey-of-${name}-${serial}\n-----END PRIVATE KEY-----\n`,
  hostnames: [`${name}.example.com`],
});

function config(certificates: IRCertificate[], path = '/'): IR {
  const listeners = certificates.map((c) => httpsListener(`gw/${c.hostnames[0]}`, [forward(`r/${c.name}`, 'svc/a', { path: { type: 'PathPrefix', value: path } })], c.hostnames[0], [c]));
  return { ...ir([httpsBind(8443, listeners)], [backend('svc/a', [8081])]), certificates };
}

test('certificates are parts: sent once, kept by the receiver while unchanged, sent again when rotated', () => {
  const packer = new IRPacker();
  const unpacker = new IRUnpacker();
  const first = config([cert('a', 1), cert('b', 1)]);
  const firstPacked = packer.pack(first);
  const sentCertificates = (p: PackedIR) => Object.values(p.parts).filter((x) => 'privateKeyPem' in x);
  assert.equal(sentCertificates(firstPacked).length, 2);
  assert.doesNotMatch(JSON.stringify(firstPacked.frame), /PRIVATE KEY/, 'the frame names certificates by hash only');
  const firstOut = new Map<string, IRCertificate>();
  const out1 = unpacker.unpack(overIpc(firstPacked));
  assert.deepEqual(out1, first);
  for (const c of out1.certificates!) firstOut.set(c.name, c);

  // A route changes; the certificates are equal in content (new objects, as a new translation may make).
  const second = config([cert('a', 1), cert('b', 1)], '/v2');
  const secondPacked = packer.pack(second);
  assert.deepEqual(sentCertificates(secondPacked), [], 'no certificate is sent again');
  const out2 = unpacker.unpack(overIpc(secondPacked));
  assert.deepEqual(out2, second);
  assert.equal(out2.certificates![0], firstOut.get('secret/default/a'), 'the receiver keeps the very object');

  // b's Secret is rotated: only b travels.
  const third = config([cert('a', 1), cert('b', 2)], '/v2');
  const thirdPacked = packer.pack(third);
  assert.deepEqual(sentCertificates(thirdPacked), [cert('b', 2)]);
  assert.deepEqual(unpacker.unpack(overIpc(thirdPacked)), third);
});

test('an IR without certificates stays without the field', () => {
  const plain: IR = ir([], [backend('svc/a', [8081])]);
  const out = new IRUnpacker().unpack(overIpc(new IRPacker().pack(plain)));
  assert.deepEqual(out, plain);
  assert.equal('certificates' in out, false);
});
