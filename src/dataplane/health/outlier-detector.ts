// Passive outlier detection, per Service port and worker: counts the outcome of every upstream
// attempt and ejects an endpoint after too many failures in a row, for a time that grows with
// each ejection. observe() runs on the request path (one map lookup, no allocation); changes
// here are measured.
import { channel } from 'node:diagnostics_channel';
import type { IROutlierDetection } from '../../ir/index.ts';
import { CHANNELS } from '../../observability/index.ts';

/** How one upstream attempt ended, for outlier detection. */
export const OUTCOME_NEUTRAL = 0;
/** A response below 500. */
export const OUTCOME_SUCCESS = 1;
/** Connect error, reset or timeout: what the proxy itself saw fail. */
export const OUTCOME_LOCAL_FAILURE = 2;
/** A 502, 503 or 504 response (an upstream's own gateway, a sidecar, failing). */
export const OUTCOME_GATEWAY_5XX = 3;
/** Any other 5xx response. */
export const OUTCOME_OTHER_5XX = 4;
export type AttemptOutcome = typeof OUTCOME_NEUTRAL | typeof OUTCOME_SUCCESS | typeof OUTCOME_LOCAL_FAILURE
  | typeof OUTCOME_GATEWAY_5XX | typeof OUTCOME_OTHER_5XX;

/**
 * `ok` false: a connect error, reset, timeout or 5xx; `status` the response status, 0 when none
 * came. A 5xx counts as the answer it is even if the body then failed; an attempt that ended
 * with neither a failure nor a response (the client went away) counts for nothing.
 */
export function attemptOutcome(ok: boolean, status: number): AttemptOutcome {
  if (status >= 500) return status === 502 || status === 503 || status === 504 ? OUTCOME_GATEWAY_5XX : OUTCOME_OTHER_5XX;
  if (!ok) return OUTCOME_LOCAL_FAILURE;
  return status === 0 ? OUTCOME_NEUTRAL : OUTCOME_SUCCESS;
}

export interface OutlierSpec {
  readonly consecutive5xx: number;
  readonly consecutiveGatewayFailure: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
  readonly intervalMs: number;
}

/**
 * On for every backend: gateway failures (connect errors, resets, timeouts, 502/503/504) five
 * in a row eject for 30 s, growing; plain 5xx answers do not (src/dataplane/README.md).
 */
export const DEFAULT_OUTLIER_DETECTION: OutlierSpec = Object.freeze({
  consecutive5xx: 0,
  consecutiveGatewayFailure: 5,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
  intervalMs: 10_000,
});

export function resolveOutlierDetection(o: IROutlierDetection | undefined): OutlierSpec {
  const d = DEFAULT_OUTLIER_DETECTION;
  if (o === undefined) return d;
  const base = bounded(o.baseEjectionTimeMs, d.baseEjectionTimeMs, 1, 24 * 3600_000);
  return {
    consecutive5xx: Math.round(bounded(o.consecutive5xx, d.consecutive5xx, 0, 1_000_000)),
    consecutiveGatewayFailure: Math.round(bounded(o.consecutiveGatewayFailure, d.consecutiveGatewayFailure, 0, 1_000_000)),
    baseEjectionTimeMs: base,
    maxEjectionTimeMs: Math.max(base, bounded(o.maxEjectionTimeMs, Math.max(base, d.maxEjectionTimeMs), 1, 24 * 3600_000)),
    maxEjectionPercent: bounded(o.maxEjectionPercent, d.maxEjectionPercent, 0, 100),
    intervalMs: bounded(o.intervalMs, d.intervalMs, 1, 24 * 3600_000),
  };
}

function bounded(value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || !Number.isFinite(value)) return fallback;
  return Math.min(max, Math.max(min, value));
}

/** How many endpoints may be ejected at once: the share, but at least one when the share is not 0. */
export function maxEjected(endpoints: number, maxEjectionPercent: number): number {
  if (maxEjectionPercent <= 0 || endpoints === 0) return 0;
  return Math.max(1, Math.floor(endpoints * maxEjectionPercent / 100));
}

/** Message on `waygate:health:outlier`: an endpoint was ejected, or returned. */
export interface OutlierEvent {
  readonly backend: string;
  readonly endpoint: string;
  readonly ejected: boolean;
  /** `consecutive5xx`, `consecutiveGatewayFailure`; when it returns, `expired` or `disabled`. */
  readonly reason: string;
  /** How long it stays out (0 when it returns). */
  readonly durationMs: number;
  /** The ejection count the duration was computed from. */
  readonly ejections: number;
}

export const OUTLIER_CHANNEL = CHANNELS.outlier;
const outlierChannel = channel(OUTLIER_CHANNEL);

class OutlierState {
  fails5xx = 0;
  failsGateway = 0;
  /** Recent ejections: the multiplier of the base ejection time. */
  ejections = 0;
  /** When the ejection ends (monotonic ms), 0 while in service. */
  ejectedUntil = 0;
  /** When it last returned to service, 0 if never ejected. */
  returnedAt = 0;
}

export class OutlierDetector {
  readonly #backend: string;
  readonly #onChange: () => void;
  readonly #now: () => number;
  #spec: OutlierSpec = DEFAULT_OUTLIER_DETECTION;
  #enabled = true;
  #states = new Map<string, OutlierState>();
  #ejected = 0;
  #timer: NodeJS.Timeout | undefined = undefined;
  #timerAt = 0;

  /** `onChange` runs when an endpoint is ejected or returns, so that the balancer is updated. */
  constructor(backend: string, onChange: () => void, now: () => number = () => performance.now()) {
    this.#backend = backend;
    this.#onChange = onChange;
    this.#now = now;
  }

  get spec(): OutlierSpec {
    return this.#spec;
  }

  /** Takes the backend's settings; true when that returned ejected endpoints (detection turned off). */
  configure(o: IROutlierDetection | undefined): boolean {
    const spec = resolveOutlierDetection(o);
    if (sameSpec(spec, this.#spec)) return false;
    this.#spec = spec;
    this.#enabled = (spec.consecutive5xx > 0 || spec.consecutiveGatewayFailure > 0) && spec.maxEjectionPercent > 0;
    if (this.#enabled || this.#ejected === 0) return false;
    this.#returnAll('disabled');
    return true;
  }

  /** The backend's endpoints: state of the others is dropped. Off the request path. */
  setEndpoints(keys: readonly string[]): void {
    const states = new Map<string, OutlierState>();
    let ejected = 0;
    for (const key of keys) {
      const s = this.#states.get(key) ?? new OutlierState();
      states.set(key, s);
      if (s.ejectedUntil !== 0) ejected++;
    }
    this.#states = states;
    this.#ejected = ejected;
  }

  isEjected(key: string): boolean {
    const s = this.#states.get(key);
    return s !== undefined && s.ejectedUntil !== 0;
  }

  get ejectedCount(): number {
    return this.#ejected;
  }

  /** One attempt's outcome. Outcomes of an ejected endpoint (requests already in flight) are ignored. */
  observe(key: string, outcome: AttemptOutcome): void {
    if (!this.#enabled || outcome === OUTCOME_NEUTRAL) return;
    const s = this.#states.get(key);
    if (s === undefined || s.ejectedUntil !== 0) return;
    switch (outcome) {
      case OUTCOME_SUCCESS:
        s.fails5xx = 0;
        s.failsGateway = 0;
        return;
      case OUTCOME_OTHER_5XX:
        s.fails5xx++;
        s.failsGateway = 0;
        break;
      default:
        s.fails5xx++;
        s.failsGateway++;
    }
    const spec = this.#spec;
    if (spec.consecutive5xx > 0 && s.fails5xx >= spec.consecutive5xx) this.#eject(key, s, 'consecutive5xx');
    else if (spec.consecutiveGatewayFailure > 0 && s.failsGateway >= spec.consecutiveGatewayFailure) this.#eject(key, s, 'consecutiveGatewayFailure');
  }

  /** Stops the timer and the counting; every endpoint returns. */
  close(): void {
    this.#enabled = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const s of this.#states.values()) s.ejectedUntil = 0;
    this.#ejected = 0;
  }

  /**
   * Ejects unless that would take out more than the allowed share; either way the count starts
   * again. The time out is the base times the number of recent ejections (one fewer for every
   * interval spent in service since the last one), capped.
   */
  #eject(key: string, s: OutlierState, reason: string): void {
    s.fails5xx = 0;
    s.failsGateway = 0;
    const spec = this.#spec;
    if (this.#ejected >= maxEjected(this.#states.size, spec.maxEjectionPercent)) return;
    const now = this.#now();
    if (s.returnedAt > 0) s.ejections = Math.max(0, s.ejections - Math.floor((now - s.returnedAt) / spec.intervalMs));
    s.ejections++;
    const durationMs = Math.min(spec.baseEjectionTimeMs * s.ejections, spec.maxEjectionTimeMs);
    s.ejectedUntil = now + durationMs;
    this.#ejected++;
    this.#arm(s.ejectedUntil);
    this.#publish(key, true, reason, durationMs, s.ejections);
    this.#onChange();
  }

  #arm(at: number): void {
    if (this.#timer !== undefined && this.#timerAt <= at) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#sweep(), Math.max(0, at - this.#now()));
    this.#timer.unref();
  }

  /** Returns the endpoints whose time is up, and waits for the next. */
  #sweep(): void {
    this.#timer = undefined;
    const now = this.#now();
    let next = Infinity;
    let returned = false;
    for (const [key, s] of this.#states) {
      if (s.ejectedUntil === 0) continue;
      // Timers may fire a fraction of a millisecond before the monotonic clock says so.
      if (s.ejectedUntil > now + 1) {
        next = Math.min(next, s.ejectedUntil);
        continue;
      }
      this.#return(key, s, now, 'expired');
      returned = true;
    }
    if (next !== Infinity) this.#arm(next);
    if (returned) this.#onChange();
  }

  #returnAll(reason: string): void {
    const now = this.#now();
    for (const [key, s] of this.#states) if (s.ejectedUntil !== 0) this.#return(key, s, now, reason);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #return(key: string, s: OutlierState, now: number, reason: string): void {
    s.ejectedUntil = 0;
    s.returnedAt = now;
    s.fails5xx = 0;
    s.failsGateway = 0;
    this.#ejected--;
    this.#publish(key, false, reason, 0, s.ejections);
  }

  #publish(endpoint: string, ejected: boolean, reason: string, durationMs: number, ejections: number): void {
    if (!outlierChannel.hasSubscribers) return;
    const event: OutlierEvent = { backend: this.#backend, endpoint, ejected, reason, durationMs, ejections };
    outlierChannel.publish(event);
  }
}

function sameSpec(a: OutlierSpec, b: OutlierSpec): boolean {
  return a.consecutive5xx === b.consecutive5xx && a.consecutiveGatewayFailure === b.consecutiveGatewayFailure
    && a.baseEjectionTimeMs === b.baseEjectionTimeMs && a.maxEjectionTimeMs === b.maxEjectionTimeMs
    && a.maxEjectionPercent === b.maxEjectionPercent && a.intervalMs === b.intervalMs;
}
