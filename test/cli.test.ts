import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';

const CLI = new URL('../bin/waygate.ts', import.meta.url).pathname;
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, ...args]).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

test('translate prints the status of every object and the IR, as YAML or JSON', async () => {
  const yaml = await run(['translate', '--manifests', 'examples/quickstart']);
  assert.equal(yaml.code, 0, yaml.stderr);
  const doc = parse(yaml.stdout) as { statuses: { kind: string; metadata: { name: string } }[]; ir: { binds: { name: string }[] } };
  assert.deepEqual(doc.statuses.map((s) => `${s.kind}/${s.metadata.name}`), ['GatewayClass/waygate', 'Gateway/quickstart', 'HTTPRoute/api', 'HTTPRoute/web']);
  assert.deepEqual(doc.ir.binds.map((b) => b.name), ['0.0.0.0:8080']);
  const json = await run(['translate', '--manifests', 'examples/quickstart', '--output', 'json', '--listen-address', '127.0.0.1']);
  assert.deepEqual((JSON.parse(json.stdout) as typeof doc).ir.binds.map((b) => b.name), ['127.0.0.1:8080']);
});

test('translate names the file, line, object and field of a bad manifest and exits 1', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'waygate-cli-'));
  try {
    await writeFile(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Service\nmetadata:\n  namespace: x\n');
    const r = await run(['translate', '--manifests', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.yaml:1: Service x\/\?: field metadata\.name: required string/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('--help describes every command; bad options are clear errors', async () => {
  const help = await run(['--help']);
  assert.match(help.stdout, /serve/);
  assert.match(help.stdout, /translate/);
  const serveHelp = await run(['serve', '--help']);
  for (const flag of ['--manifests', '--kubernetes', '--kubeconfig', '--admin-address', '--health-address', '--workers', '--listen-address']) assert.match(serveHelp.stdout, new RegExp(flag));
  const bad = await run(['serve', '--manifests', 'x', '--workers', 'many']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--workers.*whole number/);
  const nothing = await run(['serve', '--workers', '0']);
  assert.notEqual(nothing.code, 0);
  assert.match(nothing.stderr, /nothing to serve: give --manifests <file-or-dir>, --kubernetes, or both/);
  const badType = await run(['serve', '--kubernetes', '--gateway-service-type', 'Ingress']);
  assert.notEqual(badType.code, 0);
  assert.match(badType.stderr, /--gateway-service-type.*LoadBalancer, NodePort or ClusterIP/);
  const missing = await run(['translate', '--manifests', '/nonexistent/dir']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--manifests \/nonexistent\/dir: no such file or directory/);
});
