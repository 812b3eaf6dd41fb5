import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../src/observability/index.ts';
import { FileProvider, loadManifests } from '../src/providers/index.ts';
import { Store, type Snapshot } from '../src/resources/index.ts';

const svc = (name: string, port = 80) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: demo
spec:
  ports:
    - port: ${port}
`;

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'waygate-files-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Resolves with the first snapshot that satisfies `pred` after the store changes. */
function nextSnapshot(store: Store, pred: (s: Snapshot) => boolean, timeoutMs = 5000): Promise<Snapshot> {
  return new Promise((ok, fail) => {
    if (pred(store.snapshot())) return ok(store.snapshot());
    const timer = setTimeout(() => {
      off();
      fail(new Error('store did not reach the expected state'));
    }, timeoutMs);
    const off = store.onChange(() => {
      const s = store.snapshot();
      if (pred(s)) {
        clearTimeout(timer);
        off();
        ok(s);
      }
    });
  });
}

const names = (s: Snapshot) => s.services.map((x) => x.metadata.name).join(',');

test('reads directories recursively, multi-document YAML and JSON, and defaults the namespace', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'a.yaml'), `${svc('a')}---\n${svc('b')}`);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'nested', 'c.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'c' } }));
    await writeFile(join(dir, 'notes.txt'), 'not a manifest');
    const { objects, errors } = await loadManifests([dir]);
    assert.deepEqual(errors, []);
    assert.deepEqual(objects.map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ['demo/a', 'demo/b', 'default/c']);
  });
});

test('a file that fails to parse keeps its last good objects; other files still change', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'one.yaml'), svc('one'));
    await writeFile(join(dir, 'two.yaml'), svc('two'));
    const store = new Store();
    const provider = new FileProvider({ paths: [dir], store, logger: silentLogger(), debounceMs: 10 });
    await provider.start();
    try {
      assert.equal(names(store.snapshot()), 'one,two');
      await writeFile(join(dir, 'one.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: {name: [broken\n');
      await nextSnapshot(store, () => provider.errors().length > 0);
      assert.equal(names(store.snapshot()), 'one,two', 'the broken file keeps serving its last good objects');
      const [error] = provider.errors();
      assert.match(error.file, /one\.yaml$/);
      assert.equal(typeof error.line, 'number');

      await writeFile(join(dir, 'two.yaml'), svc('three'));
      await nextSnapshot(store, (s) => names(s) === 'one,three');

      await writeFile(join(dir, 'one.yaml'), svc('one-fixed'));
      await nextSnapshot(store, (s) => names(s) === 'one-fixed,three');
      assert.deepEqual(provider.errors(), []);

      await unlink(join(dir, 'two.yaml'));
      await nextSnapshot(store, (s) => names(s) === 'one-fixed');
    } finally {
      await provider.stop();
    }
  });
});

test('quick successive writes: the last write is the one served', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'fast.yaml');
    await writeFile(file, svc('v0'));
    const store = new Store();
    const provider = new FileProvider({ paths: [dir], store, logger: silentLogger(), debounceMs: 10 });
    await provider.start();
    try {
      for (let i = 1; i <= 8; i++) {
        await writeFile(file, svc(`v${i}`));
        await new Promise((r) => setTimeout(r, 15));
      }
      await nextSnapshot(store, (s) => names(s) === 'v8');
    } finally {
      await provider.stop();
    }
  });
});

test('a file caught between truncation and write is never served half-written', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'churn.yaml');
    const text = (i: number) => Array.from({ length: 3 + (i % 4) }, (_, k) => svc(`s${k}-${i}`)).join('---\n');
    await writeFile(file, text(0));
    const store = new Store();
    const provider = new FileProvider({ paths: [dir], store, logger: silentLogger() });
    await provider.start();
    let halfWritten = 0;
    const off = store.onChange(() => {
      if (store.snapshot().services.length < 3) halfWritten++;
    });
    try {
      for (let i = 1; i <= 150; i++) {
        await writeFile(file, text(i));
        await new Promise((r) => setTimeout(r, 3 + (i % 25)));
      }
      await nextSnapshot(store, (s) => s.services.some((x) => x.metadata.name === 's0-150'));
      assert.equal(halfWritten, 0, 'no snapshot ever had fewer objects than any version of the file');
    } finally {
      off();
      await provider.stop();
    }
  });
});

test('files replaced by rename (as editors save) are seen every time, in nested directories too', async () => {
  await withDir(async (dir) => {
    const { mkdir, rename } = await import('node:fs/promises');
    const store = new Store();
    const provider = new FileProvider({ paths: [dir], store, logger: silentLogger() });
    await provider.start();
    try {
      const nested = join(dir, 'team-a');
      await mkdir(nested);
      for (let i = 1; i <= 5; i++) {
        for (const where of [dir, nested]) {
          await writeFile(join(where, '.tmp'), svc(`${where === dir ? 'top' : 'nested'}-${i}`));
          await rename(join(where, '.tmp'), join(where, 'svc.yaml'));
        }
        await nextSnapshot(store, (s) => names(s) === `top-${i},nested-${i}`.split(',').sort().join(','));
      }
    } finally {
      await provider.stop();
    }
  });
});

test('an object without a name is reported with its field; the rest of the file is used', async () => {
  await withDir(async (dir) => {
    await writeFile(join(dir, 'mixed.yaml'), `${svc('good')}---\napiVersion: v1\nkind: Service\nmetadata:\n  namespace: demo\n`);
    const { objects, errors } = await loadManifests([dir]);
    assert.deepEqual(objects.map((o) => o.metadata.name), ['good']);
    assert.equal(errors.length, 1);
    assert.match(errors[0].message, /metadata\.name/);
    assert.equal(errors[0].line, 10);
  });
});

test('generation is bumped on spec changes only', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 's.yaml');
    await writeFile(file, svc('s', 80));
    const store = new Store();
    const provider = new FileProvider({ paths: [file], store, logger: silentLogger(), debounceMs: 10 });
    await provider.start();
    try {
      const gen = () => store.snapshot().services[0].metadata.generation;
      assert.equal(gen(), 1);
      await writeFile(file, svc('s', 81));
      await nextSnapshot(store, (s) => s.services[0].spec?.ports?.[0].port === 81);
      assert.equal(gen(), 2);
      await writeFile(file, svc('s', 81).replace('namespace: demo', 'namespace: demo\n  labels: {a: b}'));
      await nextSnapshot(store, (s) => s.services[0].metadata.labels?.a === 'b');
      assert.equal(gen(), 2, 'a metadata-only change keeps the generation');
    } finally {
      await provider.stop();
    }
  });
});

test('a missing --manifests path is a clear error', async () => {
  await assert.rejects(loadManifests(['/nonexistent/waygate']), /CFG_ERR_PATH --manifests \/nonexistent\/waygate: no such file/);
});
