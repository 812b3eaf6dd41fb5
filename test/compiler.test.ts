import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { compile, dump, normalizeHost, selectRoute } from '../src/compiler/index.ts';
import type { CompiledBind } from '../src/compiler/index.ts';
import type { IR, IRHttpListener, IRMatch, IRRoute } from '../src/ir/index.ts';

const TESTDATA = join(import.meta.dirname, '../src/compiler/testdata');

for (const file of readdirSync(TESTDATA).filter((f) => f.endsWith('.ir.yaml')).sort()) {
  const name = file.slice(0, -'.ir.yaml'.length);
  test(`golden: ${name}`, () => {
    const ir = parse(readFileSync(join(TESTDATA, file), 'utf8')) as IR;
    const got = dump(compile(ir));
    const goldenPath = join(TESTDATA, `${name}.dump.txt`);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(goldenPath, got);
    assert.equal(got, readFileSync(goldenPath, 'utf8'));
  });
}

function route(name: string, match: Partial<IRMatch> = {}): IRRoute {
  return {
    name,
    match: { path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [], ...match },
    action: { type: 'DirectResponse', status: 200 },
  };
}

function bindOf(listeners: IRHttpListener[]): CompiledBind {
  const ir: IR = { binds: [{ name: '127.0.0.1:80', address: '127.0.0.1', port: 80, protocol: 'HTTP', listeners }], backends: [] };
  return compile(ir).binds.get('127.0.0.1:80')!;
}

function pick(bind: CompiledBind, host: string, path = '/', method = 'GET', headers: string[] = [], query = ''): string | undefined {
  return selectRoute(bind, normalizeHost(host), method, path, headers, query)?.name;
}

test('host normalization strips the port, lower-cases and ignores a trailing dot', () => {
  const cases: [string | undefined, string][] = [
    ['Example.COM:8080', 'example.com'], ['example.com.', 'example.com'], ['a.example.com.:80', 'a.example.com'],
    ['[::1]:8080', '[::1]'], ['[::ABC]', '[::abc]'], ['plain', 'plain'], [undefined, ''],
  ];
  for (const [input, want] of cases) assert.equal(normalizeHost(input), want, String(input));
});

test('listener host specificity: exact, then longest wildcard, then no hostname', () => {
  const listener = (name: string, hostname?: string): IRHttpListener => ({
    name, hostname, port: 80, virtualHosts: [{ hostname: '*', routes: [route(name)] }],
  });
  const bind = bindOf([
    listener('any'), listener('wild', '*.example.com'), listener('deep', '*.b.example.com'), listener('exact', 'a.b.example.com'),
  ]);
  const cases: [string, string][] = [
    ['a.b.example.com', 'exact'], ['A.B.Example.com:8080', 'exact'], ['x.b.example.com', 'deep'],
    ['y.x.b.example.com', 'deep'], ['b.example.com', 'wild'], ['a.example.com', 'wild'],
    ['example.com', 'any'], ['other.org', 'any'], ['', 'any'], ['a.b.example.com.', 'exact'],
  ];
  for (const [host, want] of cases) assert.equal(pick(bind, host), want, host);
});

test('no listener without hostname: unmatched hosts get no route', () => {
  const bind = bindOf([{ name: 'wild', hostname: '*.example.com', port: 80, virtualHosts: [{ hostname: '*.example.com', routes: [route('r')] }] }]);
  assert.equal(pick(bind, 'a.example.com'), 'r');
  assert.equal(pick(bind, 'example.com'), undefined);
});

test('no fall-through to a less specific listener or virtual host when routes do not match', () => {
  const bind = bindOf([
    { name: 'any', port: 80, virtualHosts: [{ hostname: '*', routes: [route('any-root')] }] },
    {
      name: 'wild', hostname: '*.example.com', port: 80,
      virtualHosts: [
        { hostname: '*.example.com', routes: [route('wild-root')] },
        { hostname: 'api.example.com', routes: [route('api-only', { path: { type: 'PathPrefix', value: '/api' } })] },
      ],
    },
  ]);
  assert.equal(pick(bind, 'api.example.com', '/api/x'), 'api-only');
  assert.equal(pick(bind, 'api.example.com', '/other'), undefined);
  assert.equal(pick(bind, 'www.example.com', '/other'), 'wild-root');
  assert.equal(pick(bind, 'www.other.org', '/other'), 'any-root');
});

test('path prefix has segment semantics', () => {
  const bind = bindOf([{ name: 'l', port: 80, virtualHosts: [{ hostname: '*', routes: [
    route('foo', { path: { type: 'PathPrefix', value: '/foo' } }),
    route('bar-slash', { path: { type: 'PathPrefix', value: '/bar/' } }),
    route('exact', { path: { type: 'Exact', value: '/exact' } }),
    route('regex', { path: { type: 'RegularExpression', value: '/items/[0-9]+' } }),
  ] }] }]);
  const cases: [string, string | undefined][] = [
    ['/foo', 'foo'], ['/foo/', 'foo'], ['/foo/bar', 'foo'], ['/foobar', undefined],
    ['/bar', 'bar-slash'], ['/bar/', 'bar-slash'], ['/bar/x', 'bar-slash'], ['/barx', undefined],
    ['/exact', 'exact'], ['/exact/', undefined], ['/items/42', 'regex'], ['/items/42/x', undefined], ['/x/items/42', undefined],
  ];
  for (const [path, want] of cases) assert.equal(pick(bind, 'h', path), want, path);
});

test('prefix / matches every path; first matching route in list order wins', () => {
  const bind = bindOf([{ name: 'l', port: 80, virtualHosts: [{ hostname: '*', routes: [
    route('slash', { path: { type: 'PathPrefix', value: '/' } }), route('later', { path: { type: 'PathPrefix', value: '/a' } }),
  ] }] }]);
  for (const path of ['/', '/a', '/anything/at/all']) assert.equal(pick(bind, 'h', path), 'slash');
});

test('method, header and query matching', () => {
  const bind = bindOf([{ name: 'l', port: 80, virtualHosts: [{ hostname: '*', routes: [
    route('post', { method: 'POST' }),
    route('hdr', { headers: [{ name: 'x-env', type: 'Exact', value: 'canary' }] }),
    route('hdr-re', { headers: [{ name: 'x-user', type: 'RegularExpression', value: 'a.*,b' }] }),
    route('query', { queryParams: [{ name: 'Mode', type: 'Exact', value: 'fast lane' }] }),
    route('query-re', { queryParams: [{ name: 'id', type: 'RegularExpression', value: '[0-9]+' }] }),
    route('fallback', { path: { type: 'Exact', value: '/' } }),
  ] }] }]);
  const cases: [string, string[], string, string | undefined][] = [
    ['POST', [], '', 'post'],
    ['GET', ['X-Env', 'canary'], '', 'hdr'],
    ['GET', ['x-env', 'Canary'], '', 'fallback'],
    // Repeated headers are matched on their values joined by ",".
    ['GET', ['X-User', 'alice', 'x-user', 'b'], '', 'hdr-re'],
    ['GET', ['X-User', 'alice'], '', 'fallback'],
    ['GET', [], 'Mode=fast+lane', 'query'],
    ['GET', [], 'Mode=fast%20lane&Mode=other', 'query'],
    ['GET', [], 'mode=fast+lane', 'fallback'],
    ['GET', [], 'Mode=other&Mode=fast+lane', 'fallback'],
    ['GET', [], 'x=1&id=123', 'query-re'],
    ['GET', [], 'id=12a', 'fallback'],
  ];
  for (const [method, headers, query, want] of cases) {
    assert.equal(pick(bind, 'h', '/', method, headers, query), want, `${method} ${headers.join(':')} ?${query}`);
  }
});

test('an invalid regular expression is reported and its route never matches', () => {
  const ir: IR = { binds: [{ name: 'b', address: '127.0.0.1', port: 80, protocol: 'HTTP', listeners: [
    { name: 'l', port: 80, virtualHosts: [{ hostname: '*', routes: [route('bad', { path: { type: 'RegularExpression', value: '(' } }), route('good')] }] },
  ] }], backends: [] };
  const compiled = compile(ir);
  assert.equal(compiled.errors.length, 1);
  assert.match(compiled.errors[0], /route bad: invalid path regular expression/);
  assert.equal(selectRoute(compiled.binds.get('b')!, 'h', 'GET', '(', [], '')?.name, 'good');
});
