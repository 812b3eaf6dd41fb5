import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import type { IR, IRVirtualHost } from '../src/ir/index.ts';
import { IRPacker, IRUnpacker, type PackedIR } from '../src/supervisor/index.ts';
import { backend, bind, forward, ir, listener, prefix } from './helpers/ir.ts';

const vhost = (hostname: string, backendName: string, path = '/'): IRVirtualHost => ({ hostname, routes: [forward(`route/${hostname}`, backendName, prefix(path))] });

function config(a: IRVirtualHost, b: IRVirtualHost, ports = [8081]): IR {
  return ir([bind(8080, [listener('gw/http', [a, b])])], [backend('svc/a', ports), backend('svc/b', [8082])]);
}

/** Through the IPC channel: a structured clone, as the advanced serialization sends it. */
const overIpc = (packed: PackedIR): PackedIR => deserialize(serialize(packed)) as PackedIR;

test('an IR packed and unpacked is the same IR', () => {
  const first = config(vhost('a.example.com', 'svc/a'), vhost('b.example.com', 'svc/b'));
  assert.deepEqual(new IRUnpacker().unpack(overIpc(new IRPacker().pack(first))), first);
});

test('after the first IR, only changed parts are sent, and the others keep their objects', () => {
  const packer = new IRPacker();
  const unpacker = new IRUnpacker();
  const a = vhost('a.example.com', 'svc/a');
  const first = config(a, vhost('b.example.com', 'svc/b'));
  const firstPacked = packer.pack(first);
  assert.equal(Object.keys(firstPacked.parts).length, 4, 'two virtual hosts and two backends');
  const firstOut = unpacker.unpack(overIpc(firstPacked));

  const second = config(a, vhost('b.example.com', 'svc/b', '/v2'));
  const secondPacked = packer.pack(second);
  assert.deepEqual(Object.values(secondPacked.parts), [second.binds[0].listeners[0].virtualHosts[1]], 'only the changed virtual host');
  const secondOut = unpacker.unpack(overIpc(secondPacked));
  assert.deepEqual(secondOut, second);
  assert.equal(secondOut.binds[0].listeners[0].virtualHosts[0], firstOut.binds[0].listeners[0].virtualHosts[0], 'the unchanged virtual host is the same object');
  assert.equal(secondOut.backends[0], firstOut.backends[0]);

  // A part that left and comes back is sent again: the receiver only holds the last IR's parts.
  const third = config(a, vhost('b.example.com', 'svc/b'), [8083]);
  const thirdPacked = packer.pack(third);
  assert.equal(Object.keys(thirdPacked.parts).length, 2, 'the old b.example.com and the changed backend');
  assert.deepEqual(unpacker.unpack(overIpc(thirdPacked)), third);
});

test('a new receiver gets every part, and a part neither sent nor held is an error', () => {
  const packer = new IRPacker();
  const a = vhost('a.example.com', 'svc/a');
  packer.pack(config(a, vhost('b.example.com', 'svc/b')));
  const delta = packer.pack(config(a, vhost('c.example.com', 'svc/b')));
  assert.throws(() => new IRUnpacker().unpack(overIpc(delta)), /CFG_ERR_IPC/);
  const fresh = config(a, vhost('c.example.com', 'svc/b'));
  assert.deepEqual(new IRUnpacker().unpack(overIpc(new IRPacker().pack(fresh))), fresh);
});

test('a relay passes parts on under the hashes they came with', () => {
  const a = vhost('a.example.com', 'svc/a');
  const first = config(a, vhost('b.example.com', 'svc/b'));
  const second = config(a, vhost('b.example.com', 'svc/b', '/v2'));
  const toRelay = new IRPacker();
  const relay = new IRUnpacker();
  const toWorker = new IRPacker(relay.hashOf);
  const worker = new IRUnpacker();
  for (const next of [first, second]) {
    const atRelay = relay.unpack(overIpc(toRelay.pack(next)));
    assert.deepEqual(worker.unpack(overIpc(toWorker.pack(atRelay))), next);
  }
});
