// The content hash of an IR. Virtual hosts and backends are hashed once per object (IR objects
// are never mutated, and a translation reuses the ones that did not change), so hashing the IR
// of a large configuration after a small change costs little.
import { hashOfParts, immutableHash, stableStringify } from '../util/index.ts';
import type { IR } from './types.ts';

/** Equal IRs give equal hashes. */
export function irHash(ir: IR): string {
  return hashOfParts(irParts(ir));
}

function* irParts(ir: IR): Generator<string> {
  // Every field but the lists below, whatever fields the IR grows.
  yield stableStringify({ ...ir, binds: undefined, backends: undefined });
  for (const bind of ir.binds) {
    yield stableStringify({ ...bind, listeners: undefined });
    for (const listener of bind.listeners) {
      yield stableStringify({ ...listener, virtualHosts: undefined });
      for (const vhost of listener.virtualHosts) yield immutableHash(vhost);
      yield 'end of listener';
    }
    yield 'end of bind';
  }
  yield 'backends';
  for (const backend of ir.backends) yield immutableHash(backend);
}
