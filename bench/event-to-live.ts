// Event-to-live latency: with thousands of HTTPRoutes loaded, the time from changing one route
// until real requests through the real listener see the change, and where that time goes.
// Run: npx node bench/event-to-live.ts [--routes 5000] [--changes 200] [--workers 2] ...
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from 'undici';
import { startKubeApiServer, type KubeApiServer, type KubeJson } from '../test/helpers/kube-apiserver.ts';
import {
  addedPath, clusterFiles, clusterObjects, namespaceObjects, pickTarget, toYaml,
  type ChangeMode, type ClusterOptions, type Target,
} from './lib/cluster.ts';
import { assertPortFree, log, sleep, table, waitFor } from './lib/common.ts';
import { ProcessGroup, runCleanly } from './lib/processes.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Options {
  readonly cluster: ClusterOptions;
  readonly source: 'file' | 'kubernetes';
  readonly workers: number;
  readonly changes: number;
  readonly warmup: number;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly probes: number;
  readonly pollMs: number;
  readonly change: ChangeMode;
  readonly edit: 'rename' | 'in-place';
  readonly basePort: number;
  readonly profile?: string;
  readonly keep: boolean;
}

const HELP = `usage: npx node bench/event-to-live.ts [options]   (each also as BENCH_<NAME> in the environment)
  --source <s>        where the change is made: file (a manifest file on disk) or kubernetes
                      (an update through a test API server, Waygate with --kubernetes) (file)
  --workers <n>       Waygate workers; 0: a single process (2)
  --routes <n>        HTTPRoutes (5000)
  --services <n>      Services, each with one EndpointSlice of 3 endpoints (1000)
  --namespaces <n>    namespaces the routes and Services are spread over (50)
  --changes <n>       measured changes (200)
  --warmup <n>        changes made first and not counted (5)
  --interval <ms>     time from one change to the next, when the last one is live by then (250)
  --timeout <ms>      a change not seen after this long counts as a timeout (10000)
  --probes <n>        keep-alive connections polling for the change, new ones per change (4)
  --poll-interval <ms>  pause between a probe's requests; 0: back to back (1)
  --change <c>        backend: switch the route's backend; path: add a path to it (backend)
  --edit <mode>       rename (write a temporary file, rename it over) or in-place (rename)
  --base-port <p>     listeners p and p+1, echo backends p+2..p+5, admin p+9 (18180)
  --profile <dir>     run Waygate's processes with --cpu-prof into <dir>
  --keep              keep the temporary directory (manifests and Waygate's log)
`;

function parseOptions(): Options {
  const env = process.env;
  const str = (name: string, fallback: string) => ({ type: 'string' as const, default: env[`BENCH_${name.toUpperCase().replaceAll('-', '_')}`] ?? fallback });
  const { values: v } = parseArgs({
    options: {
      source: str('source', 'file'), workers: str('workers', '2'), routes: str('routes', '5000'),
      services: str('services', '1000'), namespaces: str('namespaces', '50'), changes: str('changes', '200'),
      warmup: str('warmup', '5'), interval: str('interval', '250'), timeout: str('timeout', '10000'),
      probes: str('probes', '4'), 'poll-interval': str('poll-interval', '1'), change: str('change', 'backend'), edit: str('edit', 'rename'),
      'base-port': str('base-port', '18180'), profile: { type: 'string' },
      keep: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const num = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} ${text}: expected a whole number ≥ ${min}`);
    return n;
  };
  if (v.source !== 'file' && v.source !== 'kubernetes') throw new Error(`--source ${v.source}: expected file or kubernetes`);
  if (v.change !== 'backend' && v.change !== 'path') throw new Error(`--change ${v.change}: expected backend or path`);
  if (v.edit !== 'rename' && v.edit !== 'in-place') throw new Error(`--edit ${v.edit}: expected rename or in-place`);
  const basePort = num('base-port', v['base-port'], 1024);
  return {
    cluster: {
      routes: num('routes', v.routes, 1), services: num('services', v.services, 2), namespaces: num('namespaces', v.namespaces, 2),
      gatewayPort: basePort, backendPorts: [basePort + 2, basePort + 3, basePort + 4, basePort + 5],
      gatewayAddresses: v.source === 'file',
    },
    source: v.source, workers: num('workers', v.workers, 0), changes: num('changes', v.changes, 1),
    warmup: num('warmup', v.warmup, 0), intervalMs: num('interval', v.interval, 0), timeoutMs: num('timeout', v.timeout, 100),
    probes: num('probes', v.probes, 1), pollMs: num('poll-interval', v['poll-interval'], 0), change: v.change, edit: v.edit, basePort, profile: v.profile, keep: v.keep,
  };
}



/** Wall-clock milliseconds with a fraction, comparable with the instants Waygate logs. */
function wallClock(): number {
  return performance.timeOrigin + performance.now();
}



// --- the change and how a request sees it ---------------------------------------------------

interface Probe {
  readonly path: string;
  /** Whether a response shows what it is checked for. */
  seen(status: number, body: string): boolean;
}

/**
 * What a request sees once change `n` is live (`before`: while change n - 1 is, 0 being the
 * cluster as first written). `backend`: the body names the backend. `path`: change n's new path
 * answers 200, and 404 before it.
 */
function probeFor(o: Options, target: Target, n: number, when: 'before' | 'after' = 'after'): Probe {
  if (o.change === 'path') {
    const status = when === 'after' ? 200 : 404;
    return { path: addedPath(target, n), seen: (s) => s === status };
  }
  const port = String(target.backendPorts[(when === 'after' ? n : n - 1) % 2]);
  return { path: target.path, seen: (status, body) => status === 200 && body.trim() === port };
}

async function ask(client: Client, host: string, probe: Probe): Promise<boolean> {
  const res = await client.request({ path: probe.path, method: 'GET', headers: { host } });
  return probe.seen(res.statusCode, await res.body.text());
}

/**
 * Polls on one connection until the change shows; the wall-clock time it did, or undefined.
 * A short pause between requests keeps the probes from loading the machine they measure.
 */
async function pollUntilSeen(client: Client, host: string, probe: Probe, deadline: number, pauseMs: number): Promise<number | undefined> {
  while (wallClock() < deadline) {
    if (await ask(client, host, probe)) return wallClock();
    if (pauseMs > 0) await sleep(pauseMs);
  }
  return undefined;
}

/** After a timeout: how much later the change was seen, so the next change starts from it. */
async function waitUntilSeen(o: Options, origin: string, target: Target, n: number, writtenAt: number): Promise<void> {
  const client = new Client(origin, { pipelining: 1 });
  const seenAt = await pollUntilSeen(client, target.host, probeFor(o, target, n), writtenAt + 10 * o.timeoutMs, o.pollMs);
  await client.close();
  if (seenAt === undefined) throw new Error(`change ${n} not seen after ${10 * o.timeoutMs} ms`);
  log(`change ${n}: not seen by every connection after ${o.timeoutMs} ms; seen after ${(seenAt - writtenAt).toFixed(0)} ms`);
}

function writeManifest(path: string, text: string, mode: Options['edit']): void {
  if (mode === 'in-place') return writeFileSync(path, text);
  // The temporary name has no manifest extension, so the watcher ignores it.
  const tmp = join(dirname(path), `.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** Where changes are made: Waygate's arguments for it, and change n made ready to apply at once. */
interface ChangeSource {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Resolves once Waygate's own start-up work on the source is done (e.g. writing every status). */
  settled(): Promise<void>;
  prepare(n: number): () => void;
  stop(): Promise<void>;
}

/** One manifest file per namespace; a change rewrites the target's file. */
function fileSource(o: Options, dir: string, target: Target): ChangeSource {
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  for (const [name, text] of clusterFiles(o.cluster)) writeFileSync(join(manifests, name), text);
  const file = join(manifests, `${target.namespace}.yaml`);
  const nsIndex = Number(target.namespace.slice('team-'.length));
  return {
    args: ['--manifests', manifests],
    env: {},
    settled: async () => {},
    prepare: (n) => {
      const text = toYaml(namespaceObjects(o.cluster, nsIndex, { target, variant: n, mode: o.change }));
      return () => writeManifest(file, text, o.edit);
    },
    stop: async () => {},
  };
}

const POD_NAMESPACE = 'waygate-system';
const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Resolves once `count()` has not changed for `ms`. */
async function quietFor(ms: number, count: () => number, what: string): Promise<void> {
  let last = count();
  let since = Date.now();
  let reported = Date.now();
  while (Date.now() - since < ms) {
    await sleep(100);
    const now = count();
    if (now !== last) [last, since] = [now, Date.now()];
    if (Date.now() - reported > 10_000) {
      log(`waiting for ${what} to stop: ${now} so far`);
      reported = Date.now();
    }
  }
}

/** A test API server holding the cluster; a change is an update of the target HTTPRoute. */
async function kubernetesSource(o: Options, target: Target): Promise<ChangeSource> {
  const api: KubeApiServer = await startKubeApiServer({ namespaces: ['default', 'kube-system', POD_NAMESPACE] });
  for (const obj of clusterObjects(o.cluster)) api.create(obj as unknown as KubeJson);
  const nsIndex = Number(target.namespace.slice('team-'.length));
  return {
    args: ['--kubernetes', '--kubeconfig', api.kubeconfigPath],
    env: { POD_NAME: 'waygate-bench', POD_NAMESPACE },
    // The leader writes the status of every object once after start: wait until those writes
    // stop (the Lease is renewed every few seconds for as long as it runs).
    settled: () => quietFor(2000, () => api.requests.filter((r) => WRITES.has(r.verb) && r.resource !== 'leases').length, 'status writes'),
    prepare: (n) => {
      const route = namespaceObjects(o.cluster, nsIndex, { target, variant: n, mode: o.change })
        .find((obj) => obj.kind === 'HTTPRoute' && obj.metadata.name === target.name)!;
      return () => void api.update(route as unknown as KubeJson);
    },
    stop: () => api.stop(),
  };
}

interface Sample {
  readonly n: number;
  readonly writtenAt: number;
  /** Every probe connection saw the change; undefined on timeout. */
  readonly liveAt?: number;
  readonly firstSeenAt?: number;
}

async function measure(o: Options, source: ChangeSource, origin: string, target: Target): Promise<Sample[]> {
  const samples: Sample[] = [];
  let nextAt = 0;
  for (let n = 1; n <= o.warmup + o.changes; n++) {
    const change = source.prepare(n);
    // New connections each time, so changes are seen through every worker (the kernel spreads
    // connections over them); each first confirms the state before the change.
    const clients = Array.from({ length: o.probes }, () => new Client(origin, { pipelining: 1 }));
    const before = probeFor(o, target, n, 'before');
    const ok = await Promise.all(clients.map((c) => ask(c, target.host, before)));
    if (!ok.every(Boolean)) throw new Error(`change ${n - 1} is not what every connection sees before change ${n}`);
    await sleep(Math.max(0, nextAt - wallClock()));
    const writtenAt = wallClock();
    nextAt = writtenAt + o.intervalMs;
    change();
    const after = probeFor(o, target, n);
    const seen = await Promise.all(clients.map((c) => pollUntilSeen(c, target.host, after, writtenAt + o.timeoutMs, o.pollMs)));
    await Promise.all(clients.map((c) => c.close()));
    const liveAt = seen.every((t) => t !== undefined) ? Math.max(...(seen as number[])) : undefined;
    const firstSeenAt = seen.some((t) => t !== undefined) ? Math.min(...seen.filter((t) => t !== undefined)) : undefined;
    if (n > o.warmup) samples.push({ n, writtenAt, liveAt, firstSeenAt });
    if (n % 25 === 0 || n === o.warmup) log(`change ${n}: ${liveAt === undefined ? 'timeout' : `${(liveAt - writtenAt).toFixed(1)} ms`}`);
    if (liveAt === undefined) await waitUntilSeen(o, origin, target, n, writtenAt);
  }
  return samples;
}

// --- Waygate's own timings, from its log ------------------------------------------------------

interface PublishLine {
  readonly version: string;
  readonly timings: {
    changedAt?: number; startedAt: number; snapshotMs: number; hashMs: number; translateMs: number;
    validateMs: number; irHashMs: number; publishMs: number; publishedAt: number;
  };
}

interface LiveLine {
  readonly version: string;
  readonly role: string;
  readonly receivedAt: number;
  readonly startedAt: number;
  readonly compileMs: number;
  readonly buildMs: number;
  readonly liveAt: number;
}

function readLog(file: string): { published: PublishLine[]; live: LiveLine[] } {
  const published: PublishLine[] = [];
  const live: LiveLine[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string };
    if (entry.msg === 'configuration published') published.push(entry as unknown as PublishLine);
    if (entry.msg === 'configuration live') live.push(entry as unknown as LiveLine);
  }
  return { published, live };
}

type Stages = Record<string, number>;

/** The stages of one change: the rebuild it triggered and the worker that went live last. */
function stagesOf(s: Sample, published: readonly PublishLine[], live: readonly LiveLine[]): Stages | undefined {
  const p = published.find((x) => x.timings.changedAt !== undefined && x.timings.changedAt >= s.writtenAt);
  if (!p || s.liveAt === undefined) return undefined;
  const workers = live.filter((l) => l.version === p.version);
  if (workers.length === 0) return undefined;
  const w = workers.reduce((a, b) => (b.liveAt > a.liveAt ? b : a));
  const t = p.timings;
  return {
    'provider (watch/read, parse)': t.changedAt! - s.writtenAt,
    'holdoff': t.startedAt - t.changedAt!,
    'snapshot': t.snapshotMs,
    'snapshot hash': t.hashMs,
    'translate': t.translateMs,
    'validate IR': t.validateMs,
    'IR hash': t.irHashMs,
    'publish (send)': t.publishMs,
    'relay to worker (IPC)': w.receivedAt - t.publishedAt,
    'queued in worker': w.startedAt - w.receivedAt,
    'compile': w.compileMs,
    'build live config': w.buildMs,
    'swap (binds, reference)': w.liveAt - w.startedAt - w.compileMs - w.buildMs,
    'seen by requests': s.liveAt - w.liveAt,
  };
}

// --- report ----------------------------------------------------------------------------------

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function fmt(ms: number): string {
  return Number.isNaN(ms) ? '-' : ms.toFixed(1);
}


function row(name: string, values: readonly number[]): string[] {
  const sorted = [...values].sort((a, b) => a - b);
  return [name, fmt(percentile(sorted, 50)), fmt(percentile(sorted, 90)), fmt(percentile(sorted, 99)), fmt(sorted[sorted.length - 1] ?? Number.NaN)];
}

function report(o: Options, samples: readonly Sample[], logFile: string): string {
  const c = o.cluster;
  const live = samples.filter((s) => s.liveAt !== undefined);
  const timeouts = samples.length - live.length;
  const { published, live: lines } = readLog(logFile);
  const stages = live.map((s) => stagesOf(s, published, lines)).filter((x): x is Stages => x !== undefined);
  const names = stages.length > 0 ? Object.keys(stages[0]) : [];
  const what = o.change === 'backend' ? 'switch the backend of one rule of one HTTPRoute' : 'add a path (one Exact rule) to one HTTPRoute';
  return [
    `event-to-live: ${c.routes} HTTPRoutes, ${c.services} Services (one EndpointSlice each, 3 endpoints), 3 Gateways, ${c.namespaces} namespaces`,
    `source: ${o.source === 'file' ? `a manifest file per namespace, rewritten ${o.edit === 'rename' ? 'by rename' : 'in place'}` : 'a test API server (waygate serve --kubernetes), the HTTPRoute replaced'}; ${o.workers === 0 ? 'a single process (--workers 0)' : `${o.workers} workers`}`,
    `change: ${what}; ${samples.length} changes ${o.intervalMs} ms apart (after ${o.warmup} not counted); ${o.probes} new keep-alive connections per change poll (${o.pollMs} ms apart) until each sees it`,
    '',
    table([
      ['ms', 'p50', 'p90', 'p99', 'max'],
      row('written → seen on every connection', live.map((s) => s.liveAt! - s.writtenAt)),
      row('written → seen on the first connection', live.map((s) => s.firstSeenAt! - s.writtenAt)),
    ]),
    `timeouts (not seen after ${o.timeoutMs} ms): ${timeouts}`,
    '',
    `breakdown (${stages.length} changes matched to Waygate's log; for the worker that went live last):`,
    table([['ms', 'p50', 'p90', 'p99', 'max'], ...names.map((name) => row(`  ${name}`, stages.map((s) => s[name])))]),
  ].join('\n');
}

// --- main ------------------------------------------------------------------------------------

async function main(group: ProcessGroup, dir: string, o: Options, sources: ChangeSource[]): Promise<void> {
  const c = o.cluster;
  const admin = o.basePort + 9;
  for (const port of [c.gatewayPort, c.gatewayPort + 1, ...c.backendPorts, admin]) await assertPortFree(port);
  log(`temporary directory ${dir}`);
  const target = pickTarget(c);
  const source = o.source === 'file' ? fileSource(o, dir, target) : await kubernetesSource(o, target);
  sources.push(source);
  log(`${c.routes} HTTPRoutes and ${c.services} Services in ${c.namespaces} namespaces (${o.source}); changing HTTPRoute ${target.namespace}/${target.name}`);

  group.start('backends', process.execPath, [join(ROOT, 'bench', 'lib', 'echo-server.ts'), ...c.backendPorts.map(String)], join(dir, 'backends.log'));
  const logFile = join(dir, 'waygate.log');
  const args = [
    join(ROOT, 'bin', 'waygate.ts'), 'serve', ...source.args, '--workers', String(o.workers),
    '--admin-address', `127.0.0.1:${admin}`, '--listen-address', '127.0.0.1',
  ];
  const env = { ...process.env, ...source.env, WAYGATE_LOG_LEVEL: 'debug', ...(o.profile ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${o.profile}` } : {}) };
  const started = Date.now();
  const waygate = group.start('waygate', process.execPath, args, logFile, env);
  let exited = false;
  void waygate.exited.then(() => (exited = true));
  await waitFor('Waygate GET /readyz = 200', 300_000, async () => {
    if (exited) throw new Error(`Waygate exited early; see ${logFile}`);
    return (await fetch(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined))?.status === 200;
  });
  await source.settled();
  log(`Waygate ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const origin = `http://127.0.0.1:${await listenerPort(admin, 'gateway/infra/public/http')}`;
  const client = new Client(origin);
  await waitFor('the target route to answer', 30_000, () => ask(client, target.host, probeFor(o, target, 1, 'before')).catch(() => false));
  await client.close();

  const samples = await measure(o, source, origin, target);
  await group.stopAll(10_000);
  process.stdout.write(report(o, samples, logFile) + '\n');
}

/** The port a listener is served on, from the configuration Waygate publishes (in a cluster: a container port). */
async function listenerPort(admin: number, listener: string): Promise<number> {
  const config = (await (await fetch(`http://127.0.0.1:${admin}/api/config`)).json()) as { ir: { binds: { port: number; listeners: { name: string }[] }[] } };
  const bind = config.ir.binds.find((b) => b.listeners.some((l) => l.name === listener));
  if (!bind) throw new Error(`listener ${listener} is not in the published configuration`);
  return bind.port;
}

async function run(): Promise<void> {
  const o = parseOptions();
  const dir = mkdtempSync(join(tmpdir(), 'waygate-event-to-live-'));
  const group = new ProcessGroup();
  const sources: ChangeSource[] = [];
  const cleanup = () => (group.stopAll(10_000).then(() => Promise.all(sources.map((s) => s.stop()))).then(() => {
    if (o.keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }));
  process.once('exit', () => group.killAllNow());
  await runCleanly(() => main(group, dir, o, sources), cleanup);
}

await run();
