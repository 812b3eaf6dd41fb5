// Waygate side by side with nginx over HTTPS: both terminate TLS with the same certificate (made
// by openssl) in front of the same two backends; req/s and latency under keep-alive load, then
// with a new connection (a full TLS handshake) per request.
// Run: npx node bench/https-vs-nginx.ts [--duration 10] [--connections 64] [--workers <cores>] ...
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { availableParallelism } from 'node:os';
import { connect } from 'node:tls';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeCA, makeLeafCertificate, type KeyType, type TestCertificate } from '../test/helpers/certificates.ts';
import { connectionCloseScript, tlsSecretYaml } from './lib/https-conf.ts';
import { backendConf, proxyConf, type Endpoint } from './lib/nginx-conf.ts';
import { assertPortFree, ensureTools, failed, fmtMs, log, median, nginxVersion, runWrkBench, startNginx, table, waitFor } from './lib/common.ts';
import type { ProcessGroup } from './lib/processes.ts';
import { backendsYaml, gatewayYaml, ROUTE_FILE, routeYaml } from './lib/waygate-manifests.ts';
import { runWrk, type WrkResult } from './lib/wrk.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The name the certificate is for; clients connect to 127.0.0.1 and send it as the server name where they can. */
const SERVER_NAME = 'bench.example.com';

interface Options {
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly connections: number;
  readonly threads: number;
  readonly workers: number;
  readonly rounds: number;
  readonly keyType: KeyType;
  readonly handshakes: boolean;
  readonly basePort: number;
  readonly keep: boolean;
}

interface Ports {
  readonly waygate: number;
  readonly nginx: number;
  readonly admin: number;
  readonly backends: readonly Endpoint[];
}

const USAGE = `usage: npx node bench/https-vs-nginx.ts [options]   (each also as BENCH_<NAME> in the environment)
  --duration <s>        seconds of load per measured run (10)
  --warmup <s>          seconds of load before each measured run (5)
  --connections <n>     wrk connections (64)
  --threads <n>         wrk threads (2)
  --workers <n>         Waygate workers = nginx worker_processes (cores: ${availableParallelism()})
  --rounds <n>          measured keep-alive runs per proxy, alternating; the median by req/s is shown (3)
  --key-type <t>        the certificate's key: ecdsa (P-256) or rsa (2048 bits) (ecdsa)
  --no-handshakes       skip the runs with a new connection (a full handshake) per request
  --base-port <p>       Waygate p, backends p+1 and p+2, nginx p+10, Waygate admin p+19 (18280)
  --keep                keep the temporary directory (certificate, configs and logs)
`;

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
      'key-type': { type: 'string', default: env.BENCH_KEY_TYPE ?? 'ecdsa' },
      'no-handshakes': { type: 'boolean', default: env.BENCH_NO_HANDSHAKES === '1' },
      'base-port': { type: 'string', default: env.BENCH_BASE_PORT ?? '18280' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const num = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} ${v}: expected a number ≥ ${min}`);
    return n;
  };
  const keyType = values['key-type'];
  if (keyType !== 'ecdsa' && keyType !== 'rsa') throw new Error(`--key-type ${keyType}: expected ecdsa or rsa`);
  return {
    seconds: num('duration', values.duration, 1),
    warmupSeconds: num('warmup', values.warmup, 0),
    connections: num('connections', values.connections, 1),
    threads: num('threads', values.threads, 1),
    workers: num('workers', values.workers, 0),
    rounds: num('rounds', values.rounds, 1),
    keyType,
    handshakes: !values['no-handshakes'],
    basePort: num('base-port', values['base-port'], 1024),
    keep: values.keep,
  };
}



// --- tools and probes ------------------------------------------------------------------




/** GET / over HTTPS, the certificate checked against the bench's CA: the status and body. */
function httpsGet(port: number, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path: '/', ca, servername: SERVER_NAME, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout'))).on('error', fail).end();
  });
}

/** The status of GET `url` over plain HTTP, 0 when there is no answer. */
async function plainGet(url: string): Promise<number> {
  return fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.status, () => 0);
}

/** What a client negotiates with `port`, for the report: protocol, cipher, ALPN. */
function tlsProbe(port: number, ca: string): Promise<string> {
  return new Promise((ok) => {
    const s = connect({ host: '127.0.0.1', port, servername: SERVER_NAME, ca, ALPNProtocols: ['http/1.1'] }, () => {
      ok(`${s.getProtocol()} ${s.getCipher().name} alpn=${s.alpnProtocol || '-'}`);
      s.end();
    });
    s.on('error', (err) => ok(`error: ${err.message}`));
  });
}

// --- the proxies -----------------------------------------------------------------------


async function startWaygate(group: ProcessGroup, dir: string, o: Options, ports: Ports, cert: { certPem: string; keyPem: string }): Promise<void> {
  const manifests = join(dir, 'manifests');
  mkdirSync(manifests);
  writeFileSync(join(manifests, 'gateway.yaml'), gatewayYaml(ports.waygate, 'bench-tls'));
  writeFileSync(join(manifests, 'secret.yaml'), tlsSecretYaml('bench-tls', cert.certPem, cert.keyPem));
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
    if (exited) throw new Error(`Waygate exited early; see ${p.logFile}:\n${readFileSync(p.logFile, 'utf8').slice(-2000)}`);
    return (await plainGet(`http://127.0.0.1:${ports.admin}/readyz`)) === 200;
  });
}

/** The certificate both proxies serve: a leaf for SERVER_NAME signed by a throwaway CA, its chain in the file. */
function makeCertificate(dir: string, keyType: KeyType): { ca: TestCertificate; certPem: string; keyPem: string; certFile: string; keyFile: string } {
  const ca = makeCA('Waygate bench CA', 'ecdsa');
  const leaf = makeLeafCertificate(ca, [SERVER_NAME], { keyType });
  const certPem = leaf.certPem + ca.certPem;
  const certFile = join(dir, 'bench.crt');
  const keyFile = join(dir, 'bench.key');
  writeFileSync(certFile, certPem);
  writeFileSync(keyFile, leaf.keyPem, { mode: 0o600 });
  return { ca, certPem, keyPem: leaf.keyPem, certFile, keyFile };
}

// --- measurements and report -----------------------------------------------------------

async function measure(o: Options, name: string, port: number, script?: string): Promise<WrkResult> {
  const options = { url: `https://127.0.0.1:${port}/`, threads: o.threads, connections: o.connections, script };
  if (o.warmupSeconds > 0) await runWrk({ ...options, seconds: o.warmupSeconds });
  const r = await runWrk({ ...options, seconds: o.seconds });
  log(`${name}${script ? ' (new connection per request)' : ''}: ${r.requestsPerSecond.toFixed(0)} req/s, p50 ${fmtMs(r.p50Ms)}, p99 ${fmtMs(r.p99Ms)}, failed ${failed(r)}`);
  return r;
}





interface Results {
  readonly keepAlive: { readonly waygate: WrkResult; readonly nginx: WrkResult };
  readonly handshakes?: { readonly waygate: WrkResult; readonly nginx: WrkResult };
  readonly tls: { readonly waygate: string; readonly nginx: string };
}

function report(o: Options, r: Results): string {
  const row = (name: string, x: WrkResult) => [name, x.requestsPerSecond.toFixed(0), fmtMs(x.p50Ms), fmtMs(x.p99Ms), String(failed(x))];
  const section = (title: string, pair: { waygate: WrkResult; nginx: WrkResult }) => [
    title, '',
    table([['proxy', 'req/s', 'p50', 'p99', 'failed'], row('waygate', pair.waygate), row('nginx', pair.nginx)]),
    '',
    `waygate/nginx req/s: ${(pair.waygate.requestsPerSecond / pair.nginx.requestsPerSecond).toFixed(2)}×`,
  ];
  const workers = o.workers === 0 ? 'Waygate --workers 0 (single process), nginx worker_processes 1' : `${o.workers} workers each (Waygate --workers ${o.workers}, nginx worker_processes ${o.workers})`;
  const load = `wrk -t${o.threads} -c${o.connections} -d${o.seconds}s --latency over TLS (each after ${o.warmupSeconds}s warm-up)`;
  return [
    `Waygate vs nginx ${nginxVersion()} over HTTPS on ${availableParallelism()} cores: ${workers}`,
    `certificate: ${o.keyType === 'rsa' ? 'RSA 2048' : 'ECDSA P-256'} leaf for ${SERVER_NAME} + CA, the same files for both`,
    `negotiated: waygate ${r.tls.waygate}; nginx ${r.tls.nginx}`,
    `backends: 2 × nginx (1 worker each, plain HTTP) answering 200 "ok\\n"; load: ${load}`,
    '',
    ...section(`keep-alive${o.rounds > 1 ? ` (median of ${o.rounds} rounds)` : ''}`, r.keepAlive),
    ...(r.handshakes ? ['', ...section('a new connection per request (Connection: close: a full TLS handshake each)', r.handshakes)] : []),
    '',
    'failed = non-2xx/3xx responses + socket errors',
  ].join('\n');
}


// --- main ------------------------------------------------------------------------------

async function main(group: ProcessGroup, dir: string, o: Options): Promise<void> {
  ensureTools([['nginx', 'nginx-light'], ['wrk', 'wrk'], ['openssl', 'openssl']]);
  const backends = [{ host: '127.0.0.1', port: o.basePort + 1 }, { host: '127.0.0.1', port: o.basePort + 2 }];
  const ports: Ports = { waygate: o.basePort, nginx: o.basePort + 10, admin: o.basePort + 19, backends };
  for (const port of [ports.waygate, ports.nginx, ports.admin, ...backends.map((b) => b.port)]) await assertPortFree(port);
  log(`temporary directory ${dir}`);
  const cert = makeCertificate(dir, o.keyType);
  const ca = cert.ca.certPem;

  for (const [i, b] of backends.entries()) startNginx(group, dir, `backend-${i + 1}`, backendConf(dir, `backend-${i + 1}`, b.port));
  for (const b of backends) await waitFor(`backend ${b.port}`, 15_000, async () => (await plainGet(`http://127.0.0.1:${b.port}/`)) === 200);
  startNginx(group, dir, 'proxy', proxyConf({ prefix: dir, port: ports.nginx, workers: Math.max(1, o.workers), backends, tls: { certFile: cert.certFile, keyFile: cert.keyFile } }));
  log(`starting Waygate with --workers ${o.workers}`);
  await startWaygate(group, dir, o, ports, cert);
  for (const [name, port] of [['nginx', ports.nginx], ['Waygate', ports.waygate]] as const) {
    await waitFor(`${name} to answer 200 "ok" over HTTPS`, 15_000, async () => {
      const r = await httpsGet(port, ca).catch(() => undefined);
      return r?.status === 200 && r.body === 'ok\n';
    });
  }
  const tls = { waygate: await tlsProbe(ports.waygate, ca), nginx: await tlsProbe(ports.nginx, ca) };

  const way: WrkResult[] = [];
  const ngx: WrkResult[] = [];
  for (let i = 0; i < o.rounds; i++) {
    way.push(await measure(o, 'waygate', ports.waygate));
    ngx.push(await measure(o, 'nginx', ports.nginx));
  }
  let handshakes: Results['handshakes'];
  if (o.handshakes) {
    const script = join(dir, 'connection-close.lua');
    writeFileSync(script, connectionCloseScript());
    handshakes = { waygate: await measure(o, 'waygate', ports.waygate, script), nginx: await measure(o, 'nginx', ports.nginx, script) };
  }
  process.stdout.write(report(o, { keepAlive: { waygate: median(way), nginx: median(ngx) }, handshakes, tls }) + '\n');
}

const options = parseOptions();
await runWrkBench('waygate-bench-https-', options.keep, (group, dir) => main(group, dir, options));
