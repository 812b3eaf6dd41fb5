import assert from 'node:assert/strict';
import { test } from 'node:test';
import { irHash, validateIR, type IR } from '../src/ir/index.ts';
import { backend, bind, forward, ir, listener, prefix } from './helpers/ir.ts';

function config(path = '/', port = 8081): IR {
  return ir([bind(8080, [listener('gw/http', [forward('route/a', 'svc/a', prefix(path))], 'a.example.com')])], [backend('svc/a', [port])]);
}

test('equal IRs hash equal; a change of a route, a listener, a bind or a backend changes the hash', () => {
  const base = config();
  assert.equal(irHash(base), irHash(structuredClone(base)));
  assert.notEqual(irHash(config('/v2')), irHash(base), 'a route');
  assert.notEqual(irHash(config('/', 8082)), irHash(base), 'an endpoint');
  const other = structuredClone(base);
  (other.binds[0].listeners[0] as { hostname?: string }).hostname = 'b.example.com';
  assert.notEqual(irHash(other), irHash(base), 'a listener hostname');
  const moved = { ...base, binds: [{ ...base.binds[0], port: 9090 }] };
  assert.notEqual(irHash(moved), irHash(base), 'a bind port');
});

test('a virtual host checked before is checked again against the backends of each IR', () => {
  const base = config();
  assert.deepEqual(validateIR(base), []);
  const withoutBackend = { ...base, backends: [] };
  assert.deepEqual(validateIR(withoutBackend), ['route route/a: unknown backend svc/a']);
  assert.deepEqual(validateIR(base), []);
});
