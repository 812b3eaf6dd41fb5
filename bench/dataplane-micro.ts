// Micro benchmark of the data plane's hot path: req/s of a small GET through a DataPlane, side
// by side with a plain undici proxy, nginx (one worker, if installed) and the backend directly.
// The proxy under test runs in this process (one core); backend and load run in child processes.
// Run: npx node bench/dataplane-micro.ts [seconds=5] [variants=direct,waygate,undici,nginx]
// (`waygate-https`: the same over TLS, two HTTPS listeners on the bind, a self-signed certificate)
// Not part of the tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { DataPlane } from '../src/dataplane/index.ts';
import type { IR } from '../src/ir/index.ts';
import { makeSelfSignedCertificate } from '../test/helpers/certificates.ts';
import { httpsBind, httpsListener, irCertificate } from '../test/helpers/https-client.ts';
import { backend, bind, forward, ir, listener } from '../test/helpers/ir.ts';
import { freePort } from '../test/helpers/ports.ts';

const SELF = fileURLToPath(import.meta.url);
const CONNECTIONS = 32;
const NGINX = '/usr/sbin/nginx';

// Child role: the trivial backend.
if (process.argv[2] === '--backend') {
  const body = Buffer.from('hello world\n');
  const server = createHttpServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    res.end(body);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(process.argv[3]), '127.0.0.1', () => process.send?.('ready'));
}

// Child role: the load loop (connections 32, pipelining 1, fixed duration).
if (process.argv[2] === '--load') {
  const [url, seconds] = [process.argv[3], Number(process.argv[4])];
  // The HTTPS variant's certificate is self-signed: the load checks nothing, as wrk does not.
  const pool = new Pool(url, { connections: CONNECTIONS, pipelining: 1, connect: { rejectUnauthorized: false } });
  let done = 0;
  let errors = 0;
  let stop = false;
  const loop = async (): Promise<void> => {
    while (!stop) {
      try {
        const res = await pool.request({ path: '/bench', method: 'GET', headers: { host: 'bench.local' } });
        await res.body.dump();
        if (res.statusCode === 200) done++;
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  const loops = Array.from({ length: CONNECTIONS }, loop);
  await new Promise((r) => setTimeout(r, 1000)); // warm-up
  const start = done;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rps = ((done - start) * 1000) / (performance.now() - t0);
  stop = true;
  await Promise.all(loops);
  await pool.close();
  process.send?.({ rps, errors, total: done + errors });
}

function child(args: string[]): ChildProcess {
  return spawn(process.execPath, [SELF, ...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function load(url: string, seconds: number): Promise<{ rps: number; errors: number; total: number }> {
  const c = child(['--load', url, String(seconds)]);
  return new Promise((resolve) => c.once('message', (m) => resolve(m as { rps: number; errors: number; total: number })));
}

/**
 * An HTTPS bind with two listeners, so that the misdirected-request check runs on every request
 * (the load's server name and Host are both bench.local).
 */
function httpsIR(port: number, upstream: number): IR {
  const c = irCertificate('bench', makeSelfSignedCertificate(['bench.local'], { keyType: 'ecdsa' }), ['bench.local']);
  const listeners = [
    httpsListener('gw/bench', [forward('r', 'svc/be')], 'bench.local', [c]),
    httpsListener('gw/other', [forward('r2', 'svc/be')], '*.other.local', [c]),
  ];
  return { ...ir([httpsBind(port, listeners)], [backend('svc/be', [upstream])]), certificates: [c] };
}

/** The baseline a plain undici reverse proxy reaches: pool.request piped to the response. */
async function plainUndiciProxy(port: number, upstream: number): Promise<Server> {
  const pool = new Pool(`http://127.0.0.1:${upstream}`);
  const server = createHttpServer(async (req, res) => {
    try {
      const up = await pool.request({ path: req.url ?? '/', method: req.method as 'GET', headers: { host: req.headers.host ?? '' } });
      res.writeHead(up.statusCode, up.headers as Record<string, string>);
      up.body.pipe(res);
    } catch {
      res.writeHead(502).end();
    }
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

let nginxPid: number | undefined;

/** CPU seconds used so far by the proxy under test (this process, or nginx's worker). */
function proxyCpuSeconds(variant: string): number {
  if (variant !== 'nginx') {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  }
  const workers = spawnSync('pgrep', ['-P', String(nginxPid)], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
  let ticks = 0;
  for (const pid of [String(nginxPid), ...workers]) {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / 100;
}

function startNginx(port: number, upstream: number): (() => void) | undefined {
  if (!existsSync(NGINX)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'waygate-nginx-'));
  writeFileSync(join(dir, 'nginx.conf'), `
worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  upstream be { server 127.0.0.1:${upstream}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}`);
  const proc = spawn(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  nginxPid = proc.pid;
  return () => {
    proc.kill();
    rmSync(dir, { recursive: true, force: true });
  };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const variants = (process.argv[3] ?? 'direct,waygate,undici,nginx').split(',');
  const upstream = await freePort();
  const be = child(['--backend', String(upstream)]);
  await new Promise((r) => be.once('message', r));
  const results: Record<string, number> = {};
  for (const variant of variants) {
    const port = await freePort();
    let stop: () => Promise<void> | void = () => undefined;
    if (variant === 'direct') {
      results.direct = (await load(`http://127.0.0.1:${upstream}`, seconds)).rps;
      continue;
    } else if (variant === 'waygate') {
      const dp = new DataPlane({});
      await dp.apply('bench', ir([bind(port, [listener('gw', [forward('r', 'svc/be')])])], [backend('svc/be', [upstream])]));
      stop = () => dp.close(1000);
    } else if (variant === 'waygate-https') {
      const dp = new DataPlane({});
      await dp.apply('bench', httpsIR(port, upstream));
      stop = () => dp.close(1000);
    } else if (variant === 'undici') {
      const server = await plainUndiciProxy(port, upstream);
      stop = () => void server.close();
    } else if (variant === 'nginx') {
      const kill = startNginx(port, upstream);
      if (kill === undefined) continue;
      await new Promise((r) => setTimeout(r, 500));
      stop = kill;
    }
    const cpu0 = proxyCpuSeconds(variant);
    const t0 = performance.now();
    const { rps, errors, total } = await load(`${variant === 'waygate-https' ? 'https' : 'http'}://127.0.0.1:${port}`, seconds);
    const cpu = proxyCpuSeconds(variant) - cpu0;
    const wall = (performance.now() - t0) / 1000;
    // Requests per proxy CPU-second: the per-core figure, independent of how busy the loader is.
    const perCore = total / cpu;
    results[variant] = perCore;
    console.log(`${variant.padEnd(13)} ${rps.toFixed(0).padStart(7)} req/s  proxy cpu ${(cpu / wall * 100).toFixed(0)}%  ~${perCore.toFixed(0)} req/s per core  errors ${errors}`);
    await stop();
  }
  if (results.waygate && results['waygate-https']) console.log(`waygate-https/waygate per core = ${(results['waygate-https'] / results.waygate).toFixed(2)}`);
  if (results.direct) console.log(`direct   ${results.direct.toFixed(0).padStart(7)} req/s (backend alone)`);
  if (results.nginx) {
    for (const v of ['waygate', 'waygate-https', 'undici']) if (results[v]) console.log(`${v}/nginx per core = ${(results[v] / results.nginx).toFixed(2)}`);
  }
  be.kill();
}

if (process.argv[2] !== '--backend' && process.argv[2] !== '--load') await main();
