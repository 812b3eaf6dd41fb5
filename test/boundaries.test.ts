import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import { SRC, checkImport, findViolations } from '../scripts/check-boundaries.ts';

test('the source tree keeps every room boundary', () => {
  assert.deepEqual(findViolations(), []);
});

test('a pure room importing node I/O fails with the rule name', () => {
  assert.match(checkImport(join(SRC, 'translator/translate.ts'), 'node:fs') ?? '', /rule "translator-is-pure"/);
});

test('the translator may not import the data plane', () => {
  assert.match(checkImport(join(SRC, 'translator/translate.ts'), '../dataplane/index.ts') ?? '', /rule "translator-not-to-dataplane"/);
});

test('rooms are entered through index.ts only', () => {
  assert.match(checkImport(join(SRC, 'controller/controller.ts'), '../translator/translate.ts') ?? '', /rule "enter-through-index"/);
  assert.equal(checkImport(join(SRC, 'controller/controller.ts'), '../translator/index.ts'), undefined);
});

test('packages are allowed per room', () => {
  assert.match(checkImport(join(SRC, 'compiler/compile.ts'), 'undici') ?? '', /rule "compiler-packages"/);
  assert.equal(checkImport(join(SRC, 'providers/index.ts'), '@kubernetes/client-node'), undefined);
  // The data plane has its own upstream client: a general-purpose one on the hot path is refused.
  assert.match(checkImport(join(SRC, 'dataplane/proxy.ts'), 'undici') ?? '', /rule "dataplane-packages"/);
});
