// Waygate side by side with nginx: req/s and latency through each proxy to the same two
// backends, then failed requests while each takes 10 configuration changes per second.
// Run: npx node bench/vs-nginx.ts [--duration 10] [--connections 64] [--workers <cores>] ...
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { backendConf, proxyConf, type Endpoint } from './lib/nginx-conf.ts';
import { assertPortFree, ensureTools, failed, fmtMs, log, median, nginxVersion, runWrkBench, sleep, startNginx, table, waitFor } from './lib/common.ts';
import type { ProcessGroup } from './lib/processes.ts';
import { backendsYaml, gatewayYaml, ROUTE_FILE, routeYaml } from './lib/waygate-manifests.ts';
import { runWrk, socketErrorTotal, statusCountingScript, type WrkOptions, type WrkResult } from './lib/wrk.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

interface Options {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly threads: number;
  readonly workers: number;
  readonly rounds: number;
  readonly churnSeconds: number;
  readonly churnRate: number;
  readonly basePort: number;
  readonly keep: boolean;
  readonly edit: EditMode;
}

interface Ports {
  readonly waygate: number;
  readonly nginx: number;
  readonly admin: number;
  readonly backends: readonly Endpoint[];
}

interface ChurnResult {
  readonly wrk: WrkResult;
  readonly written: number;
  readonly applied: number;
  readonly appliedNote: string;
}

function parseOptions(): Options {
  const env = process.env;
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: env.BENCH_DURATION ?? '10' },
      warmup: { type: 'string', default: env.BENCH_WARMUP ?? '5' },
      connections: { type: 'string', default: env.BENCH_CONNECTIONS ?? '64' },
      threads: { type: 'string', default: env.BENCH_THREADS ?? '2' },
      workers: { type: 'string', default: env.BENCH_WORKERS ?? String(availableParallelism()) },
      rounds: { type: 'string', default: env.BENCH_ROUNDS ?? '3' },
      'churn-duration': { type: 'string', default: env.BENCH_CHURN_DURATION ?? '10' },
      'churn-rate': { type: 'string', default: env.BENCH_CHURN_RATE ?? '10' },
      'base-port': { type: 'string', default: env.BENCH_BASE_PORT ?? '18080' },
      edit: { type: 'string', default: env.BENCH_EDIT ?? 'in-place' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`usage: npx node bench/vs-nginx.ts [options]   (each also as BENCH_<NAME> in the environment)
  --duration <s>        seconds of load per measured run (10)
  --warmup <s>          seconds of load before each measured run (5)
  --connections <n>     wrk connections (64)
  --threads <n>         wrk threads (2)
  --workers <n>         Waygate workers = nginx worker_processes (cores: ${availableParallelism()})
  --rounds <n>          measured runs per proxy, alternating; the median by req/s is shown (3)
  --churn-duration <s>  seconds of load during configuration churn (10)
  --churn-rate <n>      configuration changes per second during churn (10)
  --base-port <p>       Waygate p, backends p+1 and p+2, nginx p+10, Waygate admin p+19 (18080)
  --edit <mode>         how the HTTPRoute file is rewritten: in-place or rename (in-place)
  --keep                keep the temporary directory (configs and logs)
`);
    process.exit(0);
  }
  const num = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} ${v}: expected a number ≥ ${min}`);
    return n;
  };
  if (values.edit !== 'in-place' && values.edit !== 'rename') throw new Error(`--edit ${values.edit}: expected in-place or rename`);
  return {
    edit: values.edit,
    seconds: num('duration', values.duration, 1),
    warmupSeconds: num('warmup', values.warmup, 0),
    connections: num('connections', values.connections, 1),
    threads: num('threads', values.threads, 1),
    workers: num('workers', values.workers, 0),
    rounds: num('rounds', values.rounds, 1),
    churnSeconds: num('churn-duration', values['churn-duration'], 2),
    churnRate: num('churn-rate', values['churn-rate'], 0.1),
    basePort: num('base-port', values['base-port'], 1024),
    keep: values.keep,
  };
}



// --- tools -----------------------------------------------------------------------------




// --- HTTP probes -----------------------------------------------------------------------

async function get(url: string): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}


async function waitServesOk(name: string, url: string): Promise<void> {
  await waitFor(`${name} to answer 200 "ok" at ${url}`, 15_000, async () => {
    const r = await get(url);
    return r?.status === 200 && r.body === 'ok\n';
  });
}

async function waygateVersion(admin: number): Promise<string> {
  const r = await get(`http://127.0.0.1:${admin}/api/config`);
  if (r?.status !== 200) throw new Error(`GET /api/config: ${r ? r.status : 'no answer'}`);
  const version = (JSON.parse(r.body) as { version?: unknown }).version;
  if (typeof version !== 'string') throw new Error('GET /api/config: no version field');
  return version;
}

function versionNumber(version: string): number {
  const n = Number.parseInt(version, 10);
  if (!Number.isInteger(n)) throw new Error(`unexpected configuration version ${JSON.stringify(version)}`);
  return n;
}

// --- the two proxies -------------------------------------------------------------------

/**
 * How the HTTPRoute file is rewritten. `in-place`: one write(2) over the truncated file, as
 * `echo > file` does. `rename`: write a temporary file and rename it over the old one, as many
 * editors and Kubernetes volume updates do; a reader never sees half a file.
 */
type EditMode = 'in-place' | 'rename';

function writeFile(path: string, text: string, mode: EditMode): void {
  if (mode === 'in-place') return writeFileSync(path, text);
  // The temporary name has no manifest extension, so a watcher ignores it.
  const tmp = join(dirname(path), `.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}


function reloadNginx(dir: string): Promise<boolean> {
  const file = join(dir, 'proxy.conf');
  return new Promise((ok) => {
    execFile('nginx', ['-p', dir, '-c', file, '-e', join(dir, 'proxy.error.log'), '-s', 'reload'], { timeout: 5000 }, (err) => ok(!err));
  });
}

function nginxReloadsLogged(dir: string): number {
  const text = readFileSync(join(dir, 'proxy.error.log'), 'utf8');
  // Each reload the master carries out logs "<pid>#<pid>: reconfiguring" once; signals that
  // arrive while it is busy are merged, so this can be lower than the reloads requested.
  return text.match(/#\d+: reconfiguring$/gm)?.length ?? 0;
}

async function startWaygate(group: ProcessGroup, dir: string, o: Options, ports: Ports): Promise<void> {
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  writeFileSync(join(manifests, 'gateway.yaml'), gatewayYaml(ports.waygate));
  writeFileSync(join(manifests, 'backends.yaml'), backendsYaml(ports.backends));
  writeFileSync(join(manifests, ROUTE_FILE), routeYaml(0));
  const args = [
    join(ROOT, 'bin', 'waygate.ts'), 'serve', '--manifests', manifests, '--workers', String(o.workers),
    '--admin-address', `127.0.0.1:${ports.admin}`, '--listen-address', '127.0.0.1',
  ];
  const p = group.start('waygate', process.execPath, args, join(dir, 'waygate.log'));
  let exited = false;
  void p.exited.then(() => (exited = true));
  await waitFor('Waygate GET /readyz = 200', 30_000, async () => {
    if (exited) throw new Error(`Waygate exited early; see ${p.logFile}:\n${tail(p.logFile)}`);
    return (await get(`http://127.0.0.1:${ports.admin}/readyz`))?.status === 200;
  });
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// --- measurements ----------------------------------------------------------------------

function wrkOptions(o: Options, port: number, seconds: number, script?: string): WrkOptions {
  return { url: `http://127.0.0.1:${port}/`, threads: o.threads, connections: o.connections, seconds, script };
}

async function throughput(o: Options, name: string, port: number): Promise<WrkResult> {
  if (o.warmupSeconds > 0) await runWrk(wrkOptions(o, port, o.warmupSeconds));
  const r = await runWrk(wrkOptions(o, port, o.seconds));
  log(`${name}: ${r.requestsPerSecond.toFixed(0)} req/s, p50 ${fmtMs(r.p50Ms)}, p99 ${fmtMs(r.p99Ms)}`);
  return r;
}


/** Apply `change(n)` for n = 1, 2, ... at `rate` per second, from 0.25 s until 0.75 s before the end. */
async function changeRepeatedly(o: Options, change: (n: number) => void): Promise<number> {
  const interval = 1000 / o.churnRate;
  const count = Math.max(1, Math.floor(((o.churnSeconds - 1) * 1000) / interval) + 1);
  const start = Date.now() + 250;
  for (let n = 1; n <= count; n++) {
    await sleep(Math.max(0, start + (n - 1) * interval - Date.now()));
    change(n);
  }
  return count;
}

async function churnWaygate(o: Options, dir: string, ports: Ports, script: string): Promise<ChurnResult> {
  const route = join(dir, 'manifests', ROUTE_FILE);
  const before = await waygateVersion(ports.admin);
  const load = runWrk(wrkOptions(o, ports.waygate, o.churnSeconds, script));
  const written = await changeRepeatedly(o, (n) => writeFile(route, routeYaml(n), o.edit));
  const wrk = await load;
  const live = await lastChangeLive(ports.admin, written);
  const after = await waygateVersion(ports.admin);
  const applied = versionNumber(after) - versionNumber(before);
  return { wrk, written, applied, appliedNote: `versions ${before} → ${after}, last change ${live ? 'live in every worker' : 'NOT live after 10 s'}` };
}

/** The last change is in the served configuration and every worker runs it (GET /readyz = 200). */
async function lastChangeLive(admin: number, generation: number): Promise<boolean> {
  // The served configuration keeps PathPrefix values without their trailing slash.
  const check = async () => (await get(`http://127.0.0.1:${admin}/api/config`))?.body.includes(`"/churn-${generation}"`) === true &&
    (await get(`http://127.0.0.1:${admin}/readyz`))?.status === 200;
  return waitFor('the last change', 10_000, check).then(() => true, () => false);
}

async function churnNginx(o: Options, dir: string, ports: Ports, script: string): Promise<ChurnResult> {
  const reloadsBefore = nginxReloadsLogged(dir);
  const reloads: Promise<boolean>[] = [];
  const load = runWrk(wrkOptions(o, ports.nginx, o.churnSeconds, script));
  const written = await changeRepeatedly(o, (n) => {
    writeFile(join(dir, 'proxy.conf'), proxyConf({ prefix: dir, port: ports.nginx, workers: nginxWorkers(o), backends: ports.backends, generation: n }), 'rename');
    reloads.push(reloadNginx(dir));
  });
  const wrk = await load;
  const signalled = (await Promise.all(reloads)).filter(Boolean).length;
  await sleep(500);
  const applied = nginxReloadsLogged(dir) - reloadsBefore;
  return { wrk, written, applied, appliedNote: `${signalled} "nginx -s reload" succeeded` };
}

function nginxWorkers(o: Options): number {
  return Math.max(1, o.workers);
}

// --- report ----------------------------------------------------------------------------




function statuses(r: WrkResult): string {
  return [...r.statuses].sort(([a], [b]) => a - b).map(([code, n]) => `${code}×${n}`).join(' ') || '-';
}

function report(o: Options, way: WrkResult, ngx: WrkResult, churn: { waygate: ChurnResult; nginx: ChurnResult }): string {
  const load = `wrk -t${o.threads} -c${o.connections} -d${o.seconds}s --latency (each after ${o.warmupSeconds}s warm-up)`;
  const workers = o.workers === 0 ? 'Waygate --workers 0 (single process), nginx worker_processes 1' : `${o.workers} workers each (Waygate --workers ${o.workers}, nginx worker_processes ${o.workers})`;
  const ratio = way.requestsPerSecond / ngx.requestsPerSecond;
  const row = (name: string, r: WrkResult) => [name, r.requestsPerSecond.toFixed(0), fmtMs(r.p50Ms), fmtMs(r.p99Ms)];
  const c = (name: string, x: ChurnResult) => {
    const e = x.wrk.socketErrors;
    const total = x.wrk.requests + socketErrorTotal(e);
    const pct = total > 0 ? ((100 * failed(x.wrk)) / total).toFixed(3) : '0';
    return [name, `${x.applied}/${x.written}`, String(total), `${failed(x.wrk)} (${pct}%)`, String(x.wrk.badStatus),
      `${e.connect}/${e.read}/${e.write}/${e.timeout}`, statuses(x.wrk)];
  };
  return [
    `Waygate vs nginx ${nginxVersion()} on ${availableParallelism()} cores: ${workers}`,
    `backends: 2 × nginx (1 worker each) answering 200 "ok\\n"; load: ${load}${o.rounds > 1 ? `, median of ${o.rounds} rounds` : ''}`,
    '',
    table([['proxy', 'req/s', 'p50', 'p99'], row('waygate', way), row('nginx', ngx)]),
    '',
    `waygate/nginx req/s: ${ratio.toFixed(2)}× (same worker count, so the same ratio per core)`,
    '',
    `churn: ${o.churnRate} configuration changes/s for ${o.churnSeconds}s under wrk -t${o.threads} -c${o.connections}`,
    `  waygate: rewrite the HTTPRoute file ${o.edit === 'rename' ? 'by rename' : 'in place'} (add a /churn-<n>/ rule), ${churn.waygate.appliedNote}`,
    `  nginx:   rewrite nginx.conf (add a location /churn-<n>/) + nginx -s reload, ${churn.nginx.appliedNote}`,
    '',
    table([
      ['proxy', 'applied/written', 'requests', 'failed', 'non-2xx/3xx', 'sock conn/read/write/timeout', 'statuses'],
      c('waygate', churn.waygate), c('nginx', churn.nginx),
    ]),
    '',
    'requests = responses + socket errors; failed = non-2xx/3xx responses + socket errors',
  ].join('\n');
}


// --- main ------------------------------------------------------------------------------

async function main(group: ProcessGroup, dir: string, o: Options): Promise<void> {
  ensureTools([['nginx', 'nginx-light'], ['wrk', 'wrk']]);
  const backends = [{ host: '127.0.0.1', port: o.basePort + 1 }, { host: '127.0.0.1', port: o.basePort + 2 }];
  const ports: Ports = { waygate: o.basePort, nginx: o.basePort + 10, admin: o.basePort + 19, backends };
  for (const port of [ports.waygate, ports.nginx, ports.admin, ...backends.map((b) => b.port)]) await assertPortFree(port);

  log(`temporary directory ${dir}`);
  for (const [i, b] of backends.entries()) startNginx(group, dir, `backend-${i + 1}`, backendConf(dir, `backend-${i + 1}`, b.port));
  for (const b of backends) await waitServesOk('backend', `http://127.0.0.1:${b.port}/`);

  startNginx(group, dir, 'proxy', proxyConf({ prefix: dir, port: ports.nginx, workers: nginxWorkers(o), backends, generation: 0 }));
  await waitServesOk('nginx', `http://127.0.0.1:${ports.nginx}/`);
  log(`starting Waygate with --workers ${o.workers}`);
  await startWaygate(group, dir, o, ports);
  await waitServesOk('Waygate', `http://127.0.0.1:${ports.waygate}/`);

  const way: WrkResult[] = [];
  const ngx: WrkResult[] = [];
  for (let i = 0; i < o.rounds; i++) {
    way.push(await throughput(o, 'waygate', ports.waygate));
    ngx.push(await throughput(o, 'nginx', ports.nginx));
  }

  const script = join(dir, 'count-statuses.lua');
  writeFileSync(script, statusCountingScript());
  log(`churn: waygate`);
  const churnWay = await churnWaygate(o, dir, ports, script);
  log(`churn: nginx`);
  const churnNgx = await churnNginx(o, dir, ports, script);

  process.stdout.write(report(o, median(way), median(ngx), { waygate: churnWay, nginx: churnNgx }) + '\n');
}

const options = parseOptions();
await runWrkBench('waygate-bench-', options.keep, (group, dir) => main(group, dir, options));
