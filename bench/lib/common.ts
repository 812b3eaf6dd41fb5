// What every benchmark script needs: progress lines, tools from Debian, free ports, waiting,
// nginx processes, and the report's formatting.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ProcessGroup, runCleanly } from './processes.ts';
import { killRunningWrk, socketErrorTotal, type WrkResult } from './wrk.ts';

/** Progress goes to stderr as `# ...` lines; the report goes to stdout. */
export function log(line: string): void {
  process.stderr.write(`# ${line}\n`);
}

export const sleep = (ms: number): Promise<void> => new Promise<void>((ok) => setTimeout(ok, ms));

/** Commands (with the Debian package that has each), installed with apt-get only when missing. */
export function ensureTools(tools: readonly (readonly [command: string, pkg: string])[]): void {
  const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
  const missing = tools.filter(([cmd]) => !has(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  log(`installing ${missing.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit', env });
}

export async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((ok, fail) => {
    const s = createServer();
    s.once('error', (err) => fail(new Error(`port 127.0.0.1:${port} is busy (${(err as NodeJS.ErrnoException).code}); try --base-port`)));
    s.listen({ host: '127.0.0.1', port, exclusive: true }, () => s.close(() => ok()));
  });
}

/** Polls `check` every 100 ms; a check that throws (a process exited) ends the wait with its error. */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** nginx with `conf` written to `<dir>/<name>.conf`, its logs beside it. */
export function startNginx(group: ProcessGroup, dir: string, name: string, conf: string): void {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, conf);
  group.start(name, 'nginx', ['-p', dir, '-c', file, '-e', join(dir, `${name}.error.log`)], join(dir, `${name}.out.log`));
}

export function nginxVersion(): string {
  // nginx -v prints to stderr.
  const out = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  return /nginx\/([\d.]+)/.exec(`${out.stderr}${out.stdout}`)?.[1] ?? '';
}

/** The run with the median req/s. */
export function median(results: WrkResult[]): WrkResult {
  const sorted = [...results].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** Non-2xx/3xx responses plus socket errors. */
export function failed(r: WrkResult): number {
  return r.badStatus + socketErrorTotal(r.socketErrors);
}

export function fmtMs(ms: number): string {
  return Number.isNaN(ms) ? '?' : ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`;
}

/** Columns padded to their widest cell: the first to the left, the others to the right. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('   ').trimEnd()).join('\n');
}

/**
 * Runs a wrk benchmark's `main` in a temporary directory (kept with `keep`), and stops every
 * process it started and any wrk still running, on success, error, Ctrl-C or exit.
 */
export async function runWrkBench(dirPrefix: string, keep: boolean, main: (group: ProcessGroup, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), dirPrefix));
  const group = new ProcessGroup();
  const cleanup = () => (Promise.resolve(killRunningWrk()).then(() => group.stopAll(5000)).then(() => {
    if (keep) log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }));
  process.once('exit', () => {
    killRunningWrk();
    group.killAllNow();
  });
  await runCleanly(() => main(group, dir), cleanup);
}
