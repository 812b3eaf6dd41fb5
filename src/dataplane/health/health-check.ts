// An active health check as the checker runs it: the IR's optional fields resolved to their
// defaults, its identity, the key of one endpoint's health, and the delay to the next probe.
import type { IRHealthCheck } from '../../ir/index.ts';
import { contentHash, hostPort } from '../../util/index.ts';

export interface HealthCheckSpec {
  readonly type: 'HTTP' | 'TCP';
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly jitterPercent: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
  /** HTTP only. */
  readonly path: string;
  readonly method: string;
  /** Absent: the endpoint's `address:port`. */
  readonly host: string | undefined;
  /** Inclusive ranges. */
  readonly expectedStatuses: readonly { readonly start: number; readonly end: number }[];
}

/** The IR's defaults (src/ir/types.ts), and bounds that keep a bad value from probing in a loop. */
export function resolveHealthCheck(check: IRHealthCheck): HealthCheckSpec {
  const http = check.http;
  return {
    type: check.type === 'TCP' ? 'TCP' : 'HTTP',
    intervalMs: bounded(check.intervalMs, 3000, 10, 24 * 3600_000),
    timeoutMs: bounded(check.timeoutMs, 1000, 1, 3600_000),
    jitterPercent: bounded(check.jitterPercent, 10, 0, 100),
    unhealthyThreshold: Math.round(bounded(check.unhealthyThreshold, 3, 1, 1000)),
    healthyThreshold: Math.round(bounded(check.healthyThreshold, 1, 1, 1000)),
    path: check.type === 'TCP' ? '' : (http?.path || '/'),
    method: check.type === 'TCP' ? '' : (http?.method || 'GET').toUpperCase(),
    host: check.type === 'TCP' ? undefined : http?.host || undefined,
    expectedStatuses: check.type === 'TCP' ? [] : (http?.expectedStatuses?.length ? http.expectedStatuses : [{ start: 200, end: 299 }]),
  };
}

function bounded(value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, value));
}

/**
 * The identity of a check: equal checks (after defaults) share one probe per endpoint, whichever
 * backends or routes use them; checks that differ in anything are probed separately.
 */
export function healthCheckId(check: IRHealthCheck): string {
  return contentHash(resolveHealthCheck(check));
}

/** The key of one endpoint's health under one check, as health envelopes carry it. */
export function healthKey(checkId: string, address: string, port: number): string {
  return `${checkId} ${hostPort(address, port)}`;
}

/** Same, from an endpoint key (`address:port`). */
export function healthKeyOf(checkId: string, endpointKey: string): string {
  return `${checkId} ${endpointKey}`;
}

/**
 * Time from the end of one probe to the start of the next: the interval plus a random jitter of
 * up to `jitterPercent` of it, so that checks started together drift apart.
 */
export function nextProbeDelay(spec: Pick<HealthCheckSpec, 'intervalMs' | 'jitterPercent'>, random: () => number): number {
  return spec.intervalMs + Math.floor(random() * spec.intervalMs * spec.jitterPercent / 100);
}

/** The first probe of a new endpoint: soon, but spread over the jitter so that many do not start at once. */
export function firstProbeDelay(spec: Pick<HealthCheckSpec, 'intervalMs' | 'jitterPercent'>, random: () => number): number {
  return Math.floor(random() * spec.intervalMs * spec.jitterPercent / 100);
}

export function statusExpected(spec: HealthCheckSpec, status: number): boolean {
  for (const r of spec.expectedStatuses) if (status >= r.start && status <= r.end) return true;
  return false;
}
