// The settings of a Service port (BackendTrafficPolicy.spec, or Service annotations mapped onto
// the same shape) checked against the CRD's contract and converted to IR data. Each group of
// settings is converted on its own, so that annotations can drop a bad group and keep the rest.
import type {
  BackendActiveHealthCheckSpec, BackendLoadBalancerSpec, BackendOutlierDetectionSpec, BackendRetrySpec,
  BackendStickySessionSpec, BackendTrafficSettings, BackendZoneAwareSpec,
} from '../api/index.ts';
import type {
  IRHashKey, IRHealthCheck, IRLoadBalancer, IROutlierDetection, IRRetryOn, IRRetryPolicy, IRSlowStart, IRZonePreference,
} from '../ir/index.ts';
import { parseDuration } from '../util/index.ts';
import { compareText } from './precedence.ts';

/** One group of settings each; a group is absent when not configured. */
export interface BackendSettings {
  readonly loadBalancer?: { readonly type: IRLoadBalancer; readonly hashKey?: IRHashKey };
  /** `cookieName` is filled per Service port when not given. */
  readonly stickySession?: { readonly mode: 'Balanced' | 'Persistent'; readonly cookieName?: string; readonly maxAgeSeconds?: number };
  /** `off`: turned off explicitly, which also overrides the Service's own topology settings. */
  readonly zone?: IRZonePreference | 'off';
  readonly retries?: IRRetryPolicy;
  readonly slowStart?: IRSlowStart;
  readonly healthCheck?: IRHealthCheck;
  readonly outlierDetection?: IROutlierDetection;
}

export type SettingsGroup = keyof BackendSettings;

export interface SettingsResult {
  readonly settings: BackendSettings;
  /** Messages naming the field, with the group they made invalid (that group is left out). */
  readonly errors: readonly { readonly group: SettingsGroup; readonly message: string }[];
}

type Converter = (value: unknown, field: string, errors: string[]) => unknown;

/** spec field → IR group, in the order of the CRD. */
const GROUPS: readonly (readonly [keyof BackendTrafficSettings, SettingsGroup, Converter])[] = [
  ['loadBalancer', 'loadBalancer', (v, f, e) => convertLoadBalancer(v as BackendLoadBalancerSpec, f, e)],
  ['sessionPersistence', 'stickySession', (v, f, e) => convertStickySession(v as BackendStickySessionSpec, f, e)],
  ['zoneAware', 'zone', (v, f, e) => convertZone(v as BackendZoneAwareSpec, f, e)],
  ['healthCheck', 'healthCheck', (v, f, e) => convertHealthCheck(v as { active?: BackendActiveHealthCheckSpec }, f, e)],
  ['outlierDetection', 'outlierDetection', (v, f, e) => convertOutlierDetection(v as BackendOutlierDetectionSpec, f, e)],
  ['retries', 'retries', (v, f, e) => convertRetries(v as BackendRetrySpec, f, e)],
  ['slowStart', 'slowStart', (v, f, e) => convertSlowStart(v as { window?: string }, f, e)],
];

export const LOAD_BALANCERS: readonly IRLoadBalancer[] = ['RoundRobin', 'Random', 'LeastRequest', 'PeakEWMA', 'RingHash', 'Maglev'];
const HASHING: ReadonlySet<string> = new Set(['RingHash', 'Maglev']);
const RETRY_ON: readonly IRRetryOn[] = ['5xx', 'connect-failure', 'gateway-error', 'reset'];
const DEFAULT_RETRY_ON: readonly IRRetryOn[] = ['connect-failure', 'gateway-error', 'reset'];
/** RFC 9110 token: a valid header name and cookie name. */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Converts every group present in `spec`; `field` is the path of `spec` in error messages. */
export function convertBackendSettings(spec: unknown, field: string): SettingsResult {
  const settings: Record<string, unknown> = {};
  const errors: { group: SettingsGroup; message: string }[] = [];
  if (!isObject(spec)) return { settings, errors };
  for (const [key, group, convert] of GROUPS) {
    const value = spec[key];
    if (value === undefined || value === null) continue;
    if (!isObject(value)) {
      errors.push({ group, message: `${field}.${key}: must be an object` });
      continue;
    }
    const groupErrors: string[] = [];
    const converted = convert(value, `${field}.${key}`, groupErrors);
    for (const message of groupErrors) errors.push({ group, message });
    if (groupErrors.length === 0 && converted !== undefined) settings[group] = converted;
  }
  return { settings: settings as BackendSettings, errors };
}

function convertLoadBalancer(v: BackendLoadBalancerSpec, field: string, errors: string[]): BackendSettings['loadBalancer'] {
  const hashKey = v.hashKey === undefined ? undefined : convertHashKey(v.hashKey, `${field}.hashKey`, errors);
  // A hash key alone asks for consistent hashing.
  const type = v.type ?? (v.hashKey === undefined ? 'RoundRobin' : 'RingHash');
  if (!LOAD_BALANCERS.includes(type as IRLoadBalancer)) errors.push(`${field}.type: must be one of ${LOAD_BALANCERS.join(', ')}; got ${JSON.stringify(type)}`);
  else if (HASHING.has(type) && v.hashKey === undefined) errors.push(`${field}.hashKey: required with type ${type}`);
  else if (!HASHING.has(type) && v.hashKey !== undefined) errors.push(`${field}.hashKey: only RingHash and Maglev use a hash key; type is ${type}`);
  return { type: type as IRLoadBalancer, ...(hashKey ? { hashKey } : {}) };
}

function convertHashKey(v: unknown, field: string, errors: string[]): IRHashKey | undefined {
  if (!isObject(v)) return void errors.push(`${field}: must be an object`);
  const { type, name } = v as { type?: unknown; name?: unknown };
  if (type === 'SourceIP') {
    if (name !== undefined) errors.push(`${field}.name: must not be set with type SourceIP`);
    return { type: 'SourceIP' };
  }
  if (type !== 'Header' && type !== 'Cookie' && type !== 'QueryParameter') {
    return void errors.push(`${field}.type: must be one of Header, Cookie, QueryParameter, SourceIP; got ${JSON.stringify(type)}`);
  }
  const valid = typeof name === 'string' && name.length > 0 && name.length <= 256 && (type === 'QueryParameter' ? !/[&=#\s]/.test(name) : TOKEN.test(name));
  if (!valid) return void errors.push(`${field}.name: ${JSON.stringify(name)} is not a valid ${type === 'QueryParameter' ? 'query parameter' : type.toLowerCase()} name`);
  return { type, name: type === 'Header' ? (name as string).toLowerCase() : name as string };
}

function convertStickySession(v: BackendStickySessionSpec, field: string, errors: string[]): BackendSettings['stickySession'] {
  const mode = v.mode ?? 'Balanced';
  if (mode !== 'Balanced' && mode !== 'Persistent') errors.push(`${field}.mode: must be Balanced or Persistent; got ${JSON.stringify(mode)}`);
  const name = v.cookieName;
  if (name !== undefined && !(typeof name === 'string' && name.length <= 128 && TOKEN.test(name))) {
    errors.push(`${field}.cookieName: ${JSON.stringify(name)} is not a valid cookie name`);
  }
  const ttl = optionalDuration(v.ttl, `${field}.ttl`, errors);
  return {
    mode: mode as 'Balanced' | 'Persistent',
    ...(name !== undefined ? { cookieName: name } : {}),
    ...(ttl !== undefined ? { maxAgeSeconds: Math.ceil(ttl / 1000) } : {}),
  };
}

function convertZone(v: BackendZoneAwareSpec, field: string, errors: string[]): IRZonePreference | 'off' {
  const preferLocal = v.preferLocal ?? true;
  if (typeof preferLocal !== 'boolean') errors.push(`${field}.preferLocal: must be true or false`);
  const minEndpoints = optionalInteger(v.minEndpoints, `${field}.minEndpoints`, 1, 1000, errors) ?? 1;
  return preferLocal === false ? 'off' : { minEndpoints };
}

function convertHealthCheck(v: { active?: BackendActiveHealthCheckSpec }, field: string, errors: string[]): IRHealthCheck | undefined {
  if (v.active === undefined || v.active === null) return undefined;
  const a = v.active;
  const f = `${field}.active`;
  if (!isObject(a)) return void errors.push(`${f}: must be an object`);
  const type = a.type ?? 'HTTP';
  if (type !== 'HTTP' && type !== 'TCP') return void errors.push(`${f}.type: must be HTTP or TCP; got ${JSON.stringify(type)}`);
  if (type === 'TCP' && (a.path !== undefined || a.expectedStatuses !== undefined)) errors.push(`${f}: path and expectedStatuses apply to type HTTP only`);
  if (a.path !== undefined && !(typeof a.path === 'string' && /^\/[^\s#]*$/.test(a.path))) errors.push(`${f}.path: must start with / and contain no spaces or #; got ${JSON.stringify(a.path)}`);
  const statuses = a.expectedStatuses === undefined ? undefined : statusRanges(a.expectedStatuses, `${f}.expectedStatuses`, errors);
  const intervalMs = optionalDuration(a.interval, `${f}.interval`, errors);
  const timeoutMs = optionalDuration(a.timeout, `${f}.timeout`, errors);
  if (intervalMs !== undefined && timeoutMs !== undefined && timeoutMs > intervalMs) errors.push(`${f}.timeout: must not exceed interval`);
  const http = type === 'HTTP' && (a.path !== undefined || statuses !== undefined)
    ? { http: { ...(typeof a.path === 'string' ? { path: a.path } : {}), ...(statuses ? { expectedStatuses: statuses } : {}) } }
    : {};
  return {
    type,
    ...optional('intervalMs', intervalMs),
    ...optional('timeoutMs', timeoutMs),
    ...optional('jitterPercent', optionalInteger(a.jitterPercent, `${f}.jitterPercent`, 0, 100, errors)),
    ...optional('unhealthyThreshold', optionalInteger(a.unhealthyThreshold, `${f}.unhealthyThreshold`, 1, 100, errors)),
    ...optional('healthyThreshold', optionalInteger(a.healthyThreshold, `${f}.healthyThreshold`, 1, 100, errors)),
    ...http,
  };
}

/** `200`, `200-299`: inclusive ranges of status codes, sorted. */
function statusRanges(v: unknown, field: string, errors: string[]): { start: number; end: number }[] | undefined {
  if (!Array.isArray(v) || v.length === 0) return void errors.push(`${field}: must be a non-empty list such as ["200-299"]`);
  const out: { start: number; end: number }[] = [];
  for (const [i, text] of v.entries()) {
    const m = typeof text === 'string' ? /^([1-5][0-9]{2})(?:-([1-5][0-9]{2}))?$/.exec(text) : null;
    const start = m ? Number(m[1]) : NaN;
    const end = m ? Number(m[2] ?? m[1]) : NaN;
    if (!(start <= end)) errors.push(`${field}[${i}]: ${JSON.stringify(text)} is not a status or a range such as 200-299`);
    else out.push({ start, end });
  }
  return out.sort((a, b) => a.start - b.start || a.end - b.end);
}

function convertOutlierDetection(v: BackendOutlierDetectionSpec, field: string, errors: string[]): IROutlierDetection {
  const baseEjectionTimeMs = optionalDuration(v.baseEjectionTime, `${field}.baseEjectionTime`, errors);
  const maxEjectionTimeMs = optionalDuration(v.maxEjectionTime, `${field}.maxEjectionTime`, errors);
  if (baseEjectionTimeMs !== undefined && maxEjectionTimeMs !== undefined && maxEjectionTimeMs < baseEjectionTimeMs) {
    errors.push(`${field}.maxEjectionTime: must not be less than baseEjectionTime`);
  }
  return {
    ...optional('consecutive5xx', optionalInteger(v.consecutive5xx, `${field}.consecutive5xx`, 0, 1000, errors)),
    ...optional('consecutiveGatewayFailure', optionalInteger(v.consecutiveGatewayFailures, `${field}.consecutiveGatewayFailures`, 0, 1000, errors)),
    ...optional('baseEjectionTimeMs', baseEjectionTimeMs),
    ...optional('maxEjectionTimeMs', maxEjectionTimeMs),
    ...optional('maxEjectionPercent', optionalInteger(v.maxEjectionPercent, `${field}.maxEjectionPercent`, 0, 100, errors)),
    ...optional('intervalMs', optionalDuration(v.interval, `${field}.interval`, errors)),
  };
}

function convertRetries(v: BackendRetrySpec, field: string, errors: string[]): IRRetryPolicy {
  const attempts = optionalInteger(v.attempts, `${field}.attempts`, 1, 10, errors) ?? 1;
  let retryOn = DEFAULT_RETRY_ON;
  if (v.retryOn !== undefined) {
    const given = Array.isArray(v.retryOn) ? v.retryOn : [];
    const bad = given.filter((c) => !RETRY_ON.includes(c as IRRetryOn));
    if (given.length === 0 || bad.length > 0) errors.push(`${field}.retryOn: must be a non-empty list of ${RETRY_ON.join(', ')}${bad.length > 0 ? `; got ${JSON.stringify(bad[0])}` : ''}`);
    retryOn = [...new Set(given as IRRetryOn[])].sort(compareText);
  }
  return { attempts, retryOn, ...optional('perTryTimeoutMs', optionalDuration(v.perTryTimeout, `${field}.perTryTimeout`, errors)) };
}

function convertSlowStart(v: { window?: string }, field: string, errors: string[]): IRSlowStart | undefined {
  const windowMs = optionalDuration(v.window, `${field}.window`, errors);
  if (windowMs === undefined) return void errors.push(`${field}.window: required`);
  return { windowMs };
}

function optionalDuration(v: unknown, field: string, errors: string[]): number | undefined {
  if (v === undefined) return undefined;
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined) errors.push(`${field}: ${JSON.stringify(v)} is not a Gateway API duration (e.g. 10s, 500ms, 1h)`);
  else if (ms === 0) errors.push(`${field}: must be greater than zero`);
  return ms || undefined;
}

function optionalInteger(v: unknown, field: string, min: number, max: number, errors: string[]): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    errors.push(`${field}: must be an integer from ${min} to ${max}; got ${JSON.stringify(v)}`);
    return undefined;
  }
  return v;
}

function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
