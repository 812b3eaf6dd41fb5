import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compile, dump } from '../src/compiler/index.ts';
import type { IRVirtualHost } from '../src/ir/index.ts';
import { backend, bind, forward, ir, listener, prefix } from './helpers/ir.ts';

const vhost = (hostname: string, paths: string[]): IRVirtualHost => ({
  hostname, routes: paths.map((p) => forward(`route/${hostname}${p}`, 'svc/a', prefix(p))),
});

test('a configuration that reuses virtual host objects compiles as one built from scratch', () => {
  const b = vhost('b.example.com', ['/one', '/two']);
  const bad: IRVirtualHost = { hostname: 'c.example.com', routes: [forward('route/c', 'svc/a', { path: { type: 'RegularExpression', value: '(' } })] };
  const configs = [
    ir([bind(8080, [listener('gw/http', [vhost('a.example.com', ['/x']), b, bad])])], [backend('svc/a', [8081])]),
    // The first virtual host grows: the others move to new route ids.
    ir([bind(8080, [listener('gw/http', [vhost('a.example.com', ['/x', '/y']), b, bad])])], [backend('svc/a', [8081])]),
    // The same object twice in one configuration.
    ir([bind(8080, [listener('gw/http', [b]), listener('gw/other', [b, bad], 'other.example.com')])], [backend('svc/a', [8081])]),
    ir([bind(8080, [listener('gw/http', [b, bad])])], [backend('svc/a', [8081])]),
  ];
  for (const config of configs) {
    const reused = compile(config);
    const scratch = compile(structuredClone(config));
    assert.equal(dump(reused), dump(scratch));
    assert.deepEqual(reused.errors, scratch.errors);
    assert.ok(reused.errors.length > 0, 'the invalid regular expression is reported every time');
    reused.routes.forEach((r, i) => assert.equal(r.id, i, `route ${r.name} has id ${r.id} at ${i}`));
  }
});
