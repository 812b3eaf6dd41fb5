// Runs `waygate serve` as a real child process on loopback, for end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

const CLI = new URL('../../bin/waygate.ts', import.meta.url).pathname;

export interface RunningWaygate {
  readonly admin: string;
  readonly dir: string;
  readonly process: ChildProcess;
  output(): string;
  getJson(path: string): Promise<unknown>;
  /** Resolves once /readyz answers 200 (newest configuration live in every worker). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Resolves once the published configuration's sequence number reaches `seq`, and it is live. */
  waitVersion(seq: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<number | null>;
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'waygate-e2e-'));
}

export async function startWaygate(dir: string, options: { workers: number; extraArgs?: string[] }): Promise<RunningWaygate> {
  const args = ['--manifests', dir, '--workers', String(options.workers), '--listen-address', '127.0.0.1', ...(options.extraArgs ?? [])];
  return startServe(args, { dir });
}

/** `waygate serve <args> --admin-address <a free loopback port>`, with extra environment. */
export async function startServe(args: readonly string[], options: { dir?: string; env?: Record<string, string> } = {}): Promise<RunningWaygate> {
  const adminPort = await freePort();
  const admin = `127.0.0.1:${adminPort}`;
  const dir = options.dir ?? '';
  const child = spawn(process.execPath, [CLI, 'serve', ...args, '--admin-address', admin], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WAYGATE_LOG_LEVEL: 'warn', ...options.env },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const getJson = async (path: string) => (await fetch(`http://${admin}${path}`)).json();
  const poll = async (ok: () => Promise<boolean>, timeoutMs: number, what: string) => {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (child.exitCode !== null) throw new Error(`waygate exited (${child.exitCode}) waiting for ${what}:\n${out}`);
      if (await ok().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`timed out waiting for ${what}:\n${out}`);
  };
  const ready = async () => (await fetch(`http://${admin}/readyz`)).status === 200;
  return {
    admin, dir, process: child,
    output: () => out,
    getJson,
    waitReady: (timeoutMs = 20_000) => poll(ready, timeoutMs, 'readiness'),
    waitVersion: (seq, timeoutMs = 10_000) =>
      poll(async () => {
        const cfg = (await getJson('/api/config')) as { version?: string };
        return Number(cfg.version?.split('-')[0]) >= seq && (await ready());
      }, timeoutMs, `configuration version ${seq}`),
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done(child.exitCode);
        child.once('exit', (code) => done(code));
        child.kill('SIGTERM');
      }),
  };
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** A GatewayClass, a Gateway with one HTTP listener, and Services with EndpointSlices. */
export function baseManifests(gatewayPort: number, services: { name: string; ports: number[] }[]): string {
  const docs = [
    `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: waygate}
spec: {controllerName: waygate.dev/gateway-controller}`,
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: waygate
  listeners:
    - {name: http, protocol: HTTP, port: ${gatewayPort}}`,
  ];
  for (const svc of services) {
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: ${svc.name}, namespace: default}
spec:
  ports: [{name: http, port: 80}]`);
    svc.ports.forEach((port, i) =>
      docs.push(`apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${svc.name}-${i}
  namespace: default
  labels: {kubernetes.io/service-name: ${svc.name}}
addressType: IPv4
ports: [{name: http, port: ${port}}]
endpoints:
  - addresses: ["127.0.0.1"]
    conditions: {ready: true}`),
    );
  }
  return docs.join('\n---\n') + '\n';
}

/** Writes a manifest atomically (temporary file, then rename), as careful tools do. */
export async function writeManifest(dir: string, name: string, text: string): Promise<void> {
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, join(dir, name));
}
