// Runs wrk and parses its report: requests, req/s, latency percentiles, errors, and (with the
// status-counting Lua script) every response status seen.
import { spawn, type ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();

/** Stop every wrk still running (on Ctrl-C or an error). */
export function killRunningWrk(): void {
  for (const child of running) child.kill('SIGKILL');
}

export interface WrkOptions {
  readonly url: string;
  readonly threads: number;
  readonly connections: number;
  readonly seconds: number;
  /** A Lua script for `-s`, e.g. the one from `statusCountingScript()`. */
  readonly script?: string;
}

export interface SocketErrors {
  readonly connect: number;
  readonly read: number;
  readonly write: number;
  readonly timeout: number;
}

export interface WrkResult {
  /** Completed responses (any status). */
  readonly requests: number;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** wrk's "Non-2xx or 3xx responses". */
  readonly badStatus: number;
  readonly socketErrors: SocketErrors;
  /** Status code → count, when the status-counting script ran. */
  readonly statuses: ReadonlyMap<number, number>;
  readonly output: string;
}

export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${options.threads}`, `-c${options.connections}`, `-d${options.seconds}s`, '--latency', '--timeout', '5s',
    ...(options.script ? ['-s', options.script] : []),
    options.url,
  ];
  return new Promise((ok, fail) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    // wrk stops itself after -d; the guard only bounds a wedged run.
    const guard = setTimeout(() => child.kill('SIGKILL'), (options.seconds + 30) * 1000);
    child.once('error', fail);
    child.once('exit', (code) => {
      running.delete(child);
      clearTimeout(guard);
      if (code !== 0) return fail(new Error(`wrk exited with ${code}: ${err || out}`));
      try {
        ok(parseWrkOutput(out));
      } catch (e) {
        fail(e);
      }
    });
  });
}

export function parseWrkOutput(output: string): WrkResult {
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m),/.exec(output);
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  if (!total || !rps) throw new Error(`cannot parse wrk output:\n${output}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const statuses = new Map<number, number>();
  for (const m of output.matchAll(/^status (\d+) (\d+)$/gm)) statuses.set(Number(m[1]), Number(m[2]));
  return {
    requests: Number(total[1]),
    seconds: toMs(total[2], total[3]) / 1000,
    requestsPerSecond: Number(rps[1]),
    p50Ms: percentile(output, '50'),
    p99Ms: percentile(output, '99'),
    badStatus: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
    socketErrors: {
      connect: Number(socket?.[1] ?? 0),
      read: Number(socket?.[2] ?? 0),
      write: Number(socket?.[3] ?? 0),
      timeout: Number(socket?.[4] ?? 0),
    },
    statuses,
    output,
  };
}

function percentile(output: string, p: string): number {
  const m = new RegExp(`^\\s+${p}(?:\\.000)?%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(output);
  return m ? toMs(m[1], m[2]) : Number.NaN;
}

function toMs(value: string, unit: string): number {
  const scale: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };
  return Number(value) * scale[unit];
}

export function socketErrorTotal(e: SocketErrors): number {
  return e.connect + e.read + e.write + e.timeout;
}

/**
 * A wrk Lua script that counts every response status per thread and prints the totals as
 * `status <code> <count>` lines when the run ends. Defining `response()` makes wrk hand each
 * response to Lua, which costs throughput: use it for the churn runs, not the req/s runs.
 */
export function statusCountingScript(): string {
  return `
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do total[code] = (total[code] or 0) + n end
  end
  for code, n in pairs(total) do io.write(string.format("status %d %d\\n", code, n)) end
end
`;
}
