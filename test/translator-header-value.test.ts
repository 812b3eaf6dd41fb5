// HTTPHeader.value is checked against the CRD's language without its pattern's exponential
// backtracking: a long value that fails at its last character is rejected at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../src/api/index.ts';
import { snapshotOf } from '../src/resources/index.ts';
import { translate, type TranslateOptions } from '../src/translator/index.ts';

const OPTIONS: TranslateOptions = { controllerName: 'waygate.dev/gateway-controller', listenAddress: '127.0.0.1' };

function objects(value: string): KubeObject[] {
  const list: unknown[] = [
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'waygate' }, spec: { controllerName: OPTIONS.controllerName } },
    {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' },
      spec: { gatewayClassName: 'waygate', listeners: [{ name: 'http', protocol: 'HTTP', port: 8080 }] },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'default' },
      spec: {
        parentRefs: [{ name: 'gw' }],
        rules: [
          { matches: [{ path: { value: '/a' } }], filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-v', value }] } }] },
          { matches: [{ path: { value: '/b' } }] },
        ],
      },
    },
  ];
  return list as KubeObject[];
}

function droppedRules(value: string): string | undefined {
  const { statuses } = translate(snapshotOf(objects(value)), OPTIONS);
  const route = statuses.find((s) => s.kind === 'HTTPRoute') as { status: { parents: { conditions: { type: string; message: string }[] }[] } };
  return route.status.parents[0].conditions.find((c) => c.type === 'PartiallyInvalid')?.message;
}

test('a header value of words separated by single spaces or tabs is valid', () => {
  assert.equal(droppedRules('a b\tc,d'), undefined);
});

test('a long header value with a control character at its end drops its rule at once', { timeout: 10_000 }, () => {
  // With the CRD's pattern as a JavaScript regular expression this takes longer than the age of the universe.
  const message = droppedRules(`${'a'.repeat(4000)}\u0001`);
  assert.match(message ?? '', /^Dropped Rule\(s\): spec\.rules\[0\]\.filters\[0\]\.requestHeaderModifier\.set\[0\]\.value/);
});

test('two spaces in a row, or a leading space, make a value invalid', () => {
  assert.ok(droppedRules('a  b'));
  assert.ok(droppedRules(' a'));
});
