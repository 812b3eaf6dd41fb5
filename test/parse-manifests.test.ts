import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseManifests } from '../src/providers/file/parse-manifests.ts';

const svc = (name: string, port = 80) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  ports: [{port: ${port}}]
`;

/** Everything but the document cache. */
function result(text: string, previous?: ReturnType<typeof parseManifests>) {
  const { documents: _d, ...rest } = parseManifests('f.yaml', text, previous?.documents);
  return rest;
}

test('a parse that reuses the last parse of the file equals a parse from scratch', () => {
  const versions = [
    `${svc('a')}---\n${svc('b')}---\n${svc('c')}`,
    `${svc('a')}---\n${svc('b', 81)}---\n${svc('c')}`,
    `# leading comment\n${svc('a')}---\n${svc('c')}---\n${svc('b', 81)}`,
    `${svc('a')}---\nkind: Service\nmetadata: {name: x}\n---\n${svc('c')}`,
    `${svc('a')}---\napiVersion: v1\nkind: Service\nmetadata: {name: [broken\n---\n${svc('c')}`,
    `--- ${svc('a').replaceAll('\n', '\n')}...\n${svc('b')}`,
    `%YAML 1.2\n---\n${svc('a')}---\n${svc('b')}`,
    `${svc('a')}\r\n---\r\n${svc('b')}`,
  ];
  let previous: ReturnType<typeof parseManifests> | undefined;
  for (const text of versions) {
    const reused = result(text, previous);
    assert.deepEqual(reused, result(text), text);
    previous = parseManifests('f.yaml', text, previous?.documents);
  }
});

test('errors keep their line in the file when earlier documents are reused', () => {
  const good = `${svc('a')}---\n${svc('b')}`;
  const first = parseManifests('f.yaml', good);
  const brokenText = `${good}---\napiVersion: v1\nkind: Service\nmetadata: {name: [broken\n`;
  const broken = parseManifests('f.yaml', brokenText, first.documents);
  assert.ok(broken.fileError?.line !== undefined && broken.fileError.line >= 17, `line ${broken.fileError?.line}`);
  assert.equal(broken.fileError?.line, parseManifests('f.yaml', brokenText).fileError?.line);
  const named = parseManifests('f.yaml', `${good}---\nkind: Service\nmetadata: {name: x}\n`, first.documents);
  assert.deepEqual(named.objectErrors.map((e) => e.line), [15]);
});

test('objects of unchanged documents are the same objects as in the last parse', () => {
  const first = parseManifests('f.yaml', `${svc('a')}---\n${svc('b')}`);
  const second = parseManifests('f.yaml', `${svc('a')}---\n${svc('b', 81)}`, first.documents);
  assert.equal(second.objects[0], first.objects[0]);
  assert.notEqual(second.objects[1], first.objects[1]);
});
