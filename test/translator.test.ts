// Translator goldens: every src/translator/testdata/<case>.in.yaml translates to <case>.out.yaml.
// Cases named `kubernetes-*` translate in Kubernetes mode (KUBERNETES_OPTIONS); a
// `<case>.options.yaml` next to a case overrides options (its `deployment` is merged).
// UPDATE_GOLDEN=1 rewrites the .out.yaml files instead of comparing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import type { KubeObject, Snapshot } from '../src/api/index.ts';
import { redactIR, validateIR } from '../src/ir/index.ts';
import { snapshotOf } from '../src/resources/index.ts';
import { translate, type TranslateOptions } from '../src/translator/index.ts';
// The same seeded generator the balancers take, so a failing order reproduces.
import { seededRandom } from '../src/dataplane/lb/index.ts';

const TESTDATA = join(import.meta.dirname, '..', 'src', 'translator', 'testdata');
const OPTIONS: TranslateOptions = { controllerName: 'waygate.dev/gateway-controller', listenAddress: '0.0.0.0' };
const KUBERNETES_OPTIONS: TranslateOptions = {
  ...OPTIONS,
  deployment: { kind: 'kubernetes', namespace: 'waygate-system', proxySelector: { 'app.kubernetes.io/name': 'waygate' }, serviceType: 'LoadBalancer' },
};
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const cases = readdirSync(TESTDATA).filter((f) => f.endsWith('.in.yaml')).map((f) => f.slice(0, -'.in.yaml'.length)).sort();

function loadObjects(name: string): KubeObject[] {
  const text = readFileSync(join(TESTDATA, `${name}.in.yaml`), 'utf8');
  return YAML.parseAllDocuments(text).map((d) => d.toJS()).filter((o) => o && typeof o === 'object') as KubeObject[];
}

function optionsFor(name: string): TranslateOptions {
  const base = name.startsWith('kubernetes-') ? KUBERNETES_OPTIONS : OPTIONS;
  const path = join(TESTDATA, `${name}.options.yaml`);
  if (!existsSync(path)) return base;
  const extra = YAML.parse(readFileSync(path, 'utf8')) as Partial<TranslateOptions>;
  const deployment = extra.deployment || base.deployment ? { ...base.deployment, ...extra.deployment } : undefined;
  return { ...base, ...extra, ...(deployment ? { deployment: deployment as TranslateOptions['deployment'] } : {}) };
}

function render(snapshot: Snapshot, options: TranslateOptions): string {
  const { ir, statuses, services } = translate(snapshot, options);
  // Goldens are read by people and checked in: private keys are redacted as in every dump.
  return YAML.stringify({ statuses, ir: redactIR(ir), ...(services ? { services } : {}) }, { aliasDuplicateObjects: false });
}

function shuffle<T>(items: readonly T[], rand: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

test('there are golden cases', () => {
  assert.ok(cases.length >= 50, `only ${cases.length} golden cases`);
});

for (const name of cases) {
  test(`golden: ${name}`, () => {
    const options = optionsFor(name);
    const snapshot = snapshotOf(loadObjects(name));
    const actual = render(snapshot, options);
    assert.deepEqual(validateIR(translate(snapshot, options).ir), [], 'the IR must validate');
    const outPath = join(TESTDATA, `${name}.out.yaml`);
    if (UPDATE) {
      writeFileSync(outPath, actual);
      return;
    }
    assert.ok(existsSync(outPath), `${name}.out.yaml is missing; run with UPDATE_GOLDEN=1`);
    assert.equal(actual, readFileSync(outPath, 'utf8'));
  });
}

test('translate is deterministic when input objects are shuffled', () => {
  const rand = seededRandom(42);
  for (const name of cases) {
    const options = optionsFor(name);
    const objects = loadObjects(name);
    const expected = render(snapshotOf(objects), options);
    for (let round = 0; round < 3; round++) {
      assert.equal(render(snapshotOf(shuffle(objects, rand)), options), expected, `${name}: shuffled input objects`);
      const sorted = snapshotOf(objects) as unknown as Record<string, KubeObject[]>;
      const unsorted = Object.fromEntries(Object.entries(sorted).map(([k, v]) => [k, shuffle(v, rand)])) as unknown as Snapshot;
      assert.equal(render(unsorted, options), expected, `${name}: shuffled snapshot lists`);
    }
  }
});

/** Deletes a field or replaces it with a wrong-typed value somewhere below `spec`-like keys. */
function mutate(value: unknown, rand: () => number, depth = 0): unknown {
  if (Array.isArray(value)) return value.map((v) => mutate(v, rand, depth + 1));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const protectedKey = depth === 0 && (k === 'apiVersion' || k === 'kind' || k === 'metadata');
    const r = rand();
    if (!protectedKey && r < 0.08) continue;
    if (!protectedKey && r < 0.12) { out[k] = [null, 7, 'x', {}, [], true][Math.floor(rand() * 6)]; continue; }
    out[k] = mutate(v, rand, depth + 1);
  }
  if (depth === 0 && rand() < 0.1) out.spec = null;
  return out;
}

test('translate never throws on malformed objects', () => {
  const rand = seededRandom(7);
  for (const name of cases) {
    const options = optionsFor(name);
    const objects = loadObjects(name);
    for (let round = 0; round < 50; round++) {
      const broken = objects.map((o) => mutate(o, rand) as KubeObject);
      assert.doesNotThrow(() => {
        const { ir } = translate(snapshotOf(broken), options);
        assert.deepEqual(validateIR(ir), []);
      }, `${name}: round ${round}`);
    }
  }
});
