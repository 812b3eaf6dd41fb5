// One health probe of one endpoint: an HTTP request on a fresh connection, or a TCP connect.
// Never on the request path; used by the active checker only.
import { request, type ClientRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import { hostPort } from '../../util/index.ts';
import { statusExpected, type HealthCheckSpec } from './health-check.ts';

export interface ProbeResult {
  readonly ok: boolean;
  /** Why it failed: `status 503`, `timeout`, an error code. */
  readonly reason: string;
}

export interface Probe {
  readonly done: Promise<ProbeResult>;
  /** Stops the probe; `done` resolves as failed. */
  cancel(): void;
}

const USER_AGENT = 'waygate-health-check';

export function probeEndpoint(spec: HealthCheckSpec, address: string, port: number): Probe {
  return spec.type === 'TCP' ? probeTcp(spec, address, port) : probeHttp(spec, address, port);
}

/** Settles once: the first outcome wins, the timer and the connection are released. */
function settleOnce(timeoutMs: number, release: () => void): { done: Promise<ProbeResult>; settle(ok: boolean, reason: string): void } {
  let resolve!: (r: ProbeResult) => void;
  const done = new Promise<ProbeResult>((r) => (resolve = r));
  let settled = false;
  const timer = setTimeout(() => settle(false, 'timeout'), timeoutMs);
  timer.unref();
  const settle = (ok: boolean, reason: string): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    release();
    resolve({ ok, reason });
  };
  return { done, settle };
}

function probeHttp(spec: HealthCheckSpec, address: string, port: number): Probe {
  let req: ClientRequest | undefined;
  const { done, settle } = settleOnce(spec.timeoutMs, () => req?.destroy());
  req = request({
    host: address,
    port,
    method: spec.method,
    path: spec.path,
    agent: false,
    headers: { host: spec.host ?? hostPort(address, port), 'user-agent': USER_AGENT, connection: 'close' },
  });
  req.on('response', (res) => {
    const status = res.statusCode ?? 0;
    // Read to the end, so that the endpoint is not reset while it writes its answer.
    res.on('end', () => settle(statusExpected(spec, status), `status ${status}`));
    res.on('error', (err) => settle(false, (err as NodeJS.ErrnoException).code ?? err.message));
    res.resume();
  });
  req.on('error', (err) => settle(false, (err as NodeJS.ErrnoException).code ?? err.message));
  req.end();
  return { done, cancel: () => settle(false, 'cancelled') };
}

function probeTcp(spec: HealthCheckSpec, address: string, port: number): Probe {
  let socket: Socket | undefined;
  const { done, settle } = settleOnce(spec.timeoutMs, () => socket?.destroy());
  socket = connect({ host: address, port, noDelay: true });
  socket.on('connect', () => settle(true, 'connected'));
  socket.on('error', (err) => settle(false, (err as NodeJS.ErrnoException).code ?? err.message));
  return { done, cancel: () => settle(false, 'cancelled') };
}
