// Service annotations `waygate.dev/…`: the settings of a BackendTrafficPolicy for users who
// cannot install CRDs. Each annotation maps onto one field of the policy's spec, so that both
// are checked by the same code (backend-settings.ts). Documented in src/translator/README.md.
import type { BackendTrafficSettings, Service } from '../api/index.ts';

interface AnnotationField {
  readonly key: string;
  /** Where the value goes in BackendTrafficPolicy.spec. */
  readonly path: readonly string[];
  readonly parse: (text: string) => unknown;
}

const text = (t: string): unknown => t.trim();
const integer = (t: string): unknown => (/^\s*-?[0-9]+\s*$/.test(t) ? Number(t) : t);
const boolean = (t: string): unknown => (t.trim() === 'true' ? true : t.trim() === 'false' ? false : t);
const list = (t: string): unknown => t.split(',').map((s) => s.trim()).filter((s) => s !== '');

/** `header:x-user`, `cookie:session`, `query:user`, `source-ip`. */
function hashKey(t: string): unknown {
  const value = t.trim();
  if (value === 'source-ip') return { type: 'SourceIP' };
  const colon = value.indexOf(':');
  const type = { header: 'Header', cookie: 'Cookie', query: 'QueryParameter' }[value.slice(0, colon)];
  return colon > 0 && type ? { type, name: value.slice(colon + 1) } : { type: value };
}

const HC = ['healthCheck', 'active'];
const OD = ['outlierDetection'];

/** Every annotation Waygate reads on a Service, in the order of the CRD's fields. */
export const SERVICE_ANNOTATIONS: readonly AnnotationField[] = [
  { key: 'waygate.dev/load-balancer', path: ['loadBalancer', 'type'], parse: text },
  { key: 'waygate.dev/hash-key', path: ['loadBalancer', 'hashKey'], parse: hashKey },
  { key: 'waygate.dev/session-cookie', path: ['sessionPersistence', 'cookieName'], parse: text },
  { key: 'waygate.dev/session-mode', path: ['sessionPersistence', 'mode'], parse: text },
  { key: 'waygate.dev/session-ttl', path: ['sessionPersistence', 'ttl'], parse: text },
  { key: 'waygate.dev/zone-aware', path: ['zoneAware', 'preferLocal'], parse: boolean },
  { key: 'waygate.dev/zone-min-endpoints', path: ['zoneAware', 'minEndpoints'], parse: integer },
  { key: 'waygate.dev/health-check', path: [...HC, 'type'], parse: text },
  { key: 'waygate.dev/health-check-path', path: [...HC, 'path'], parse: text },
  { key: 'waygate.dev/health-check-expected-statuses', path: [...HC, 'expectedStatuses'], parse: list },
  { key: 'waygate.dev/health-check-interval', path: [...HC, 'interval'], parse: text },
  { key: 'waygate.dev/health-check-timeout', path: [...HC, 'timeout'], parse: text },
  { key: 'waygate.dev/health-check-healthy-threshold', path: [...HC, 'healthyThreshold'], parse: integer },
  { key: 'waygate.dev/health-check-unhealthy-threshold', path: [...HC, 'unhealthyThreshold'], parse: integer },
  { key: 'waygate.dev/health-check-jitter-percent', path: [...HC, 'jitterPercent'], parse: integer },
  { key: 'waygate.dev/outlier-consecutive-5xx', path: [...OD, 'consecutive5xx'], parse: integer },
  { key: 'waygate.dev/outlier-consecutive-gateway-failures', path: [...OD, 'consecutiveGatewayFailures'], parse: integer },
  { key: 'waygate.dev/outlier-interval', path: [...OD, 'interval'], parse: text },
  { key: 'waygate.dev/outlier-base-ejection-time', path: [...OD, 'baseEjectionTime'], parse: text },
  { key: 'waygate.dev/outlier-max-ejection-time', path: [...OD, 'maxEjectionTime'], parse: text },
  { key: 'waygate.dev/outlier-max-ejection-percent', path: [...OD, 'maxEjectionPercent'], parse: integer },
  { key: 'waygate.dev/retry-attempts', path: ['retries', 'attempts'], parse: integer },
  { key: 'waygate.dev/retry-on', path: ['retries', 'retryOn'], parse: list },
  { key: 'waygate.dev/retry-per-try-timeout', path: ['retries', 'perTryTimeout'], parse: text },
  { key: 'waygate.dev/slow-start-window', path: ['slowStart', 'window'], parse: text },
];

/** The settings a Service's annotations spell, in BackendTrafficPolicy.spec's shape; undefined when it has none. */
export function annotationSettings(service: Service): BackendTrafficSettings | undefined {
  const annotations = service.metadata?.annotations;
  if (annotations === undefined || annotations === null || typeof annotations !== 'object') return undefined;
  let out: Record<string, unknown> | undefined;
  for (const field of SERVICE_ANNOTATIONS) {
    const value = annotations[field.key];
    if (typeof value !== 'string') continue;
    out ??= {};
    setPath(out, field.path, field.parse(value));
  }
  return out as BackendTrafficSettings | undefined;
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
  node[path[path.length - 1]] = value;
}

/**
 * Topology-aware routing the Service asks for itself: `spec.trafficDistribution` PreferClose
 * (or its newer spellings PreferSameZone and PreferSameNode, which Waygate serves as zone
 * preference) or the annotation `service.kubernetes.io/topology-mode: Auto` (and its older name
 * `service.kubernetes.io/topology-aware-hints`).
 */
export function serviceAsksForZones(service: Service): boolean {
  const distribution = service.spec?.trafficDistribution;
  if (distribution === 'PreferClose' || distribution === 'PreferSameZone' || distribution === 'PreferSameNode') return true;
  const annotations = service.metadata?.annotations;
  const mode = annotations?.['service.kubernetes.io/topology-mode'] ?? annotations?.['service.kubernetes.io/topology-aware-hints'];
  return typeof mode === 'string' && mode.toLowerCase() === 'auto';
}
