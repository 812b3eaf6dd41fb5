// Pure merge of a desired Gateway Service (from the translator) into the Service as the cluster
// has it (docs/design/gateway-deployment.md): Waygate replaces what it owns and keeps what the
// cluster and others own, so an update never costs a load balancer its address.
import {
  APPLIED_METADATA_ANNOTATION, GATEWAY_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_WAYGATE,
  type OwnerReference, type Service, type ServicePort,
} from '../../api/index.ts';
import { stableStringify } from '../../util/index.ts';

type Json = Record<string, unknown>;

/** A Service Waygate generated: labelled as Waygate's and naming its Gateway. */
export function isGeneratedService(svc: Service): boolean {
  return svc.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_WAYGATE && typeof svc.metadata?.annotations?.[GATEWAY_ANNOTATION] === 'string';
}

/** What to create: the desired Service, recording the metadata keys Waygate set. */
export function serviceToCreate(desired: Service): Service {
  const labels = { ...(desired.metadata.labels ?? {}) };
  const annotations = { ...(desired.metadata.annotations ?? {}) };
  annotations[APPLIED_METADATA_ANNOTATION] = appliedKeys(labels, annotations);
  return { ...desired, metadata: { ...desired.metadata, labels, annotations } };
}

/**
 * The live Service with Waygate's fields replaced by the desired ones: labels and annotations
 * it set (keys it set before and no longer wants are removed; others' keys are kept), its
 * owner reference, type, selector, ports (name, protocol, port, targetPort), externalIPs and
 * externalTrafficPolicy when it sets one. Kept: cluster IPs, IP families, node ports already
 * allocated (matched by port and protocol), healthCheckNodePort, loadBalancerClass, status, and
 * any field Waygate does not know — except what the new type forbids.
 */
export function mergeService(live: Service, desired: Service): Service {
  const previous = parseApplied(live.metadata.annotations?.[APPLIED_METADATA_ANNOTATION]);
  const labels = mergeRecord(live.metadata.labels, desired.metadata.labels, previous.labels);
  const annotations = mergeRecord(live.metadata.annotations, desired.metadata.annotations, previous.annotations);
  delete annotations[APPLIED_METADATA_ANNOTATION];
  annotations[APPLIED_METADATA_ANNOTATION] = appliedKeys(desired.metadata.labels ?? {}, desired.metadata.annotations ?? {});
  const ownerReferences = mergeOwners(live.metadata.ownerReferences, desired.metadata.ownerReferences);
  const metadata: Json = { ...live.metadata, labels, annotations };
  if (ownerReferences.length > 0) metadata.ownerReferences = ownerReferences;
  else delete metadata.ownerReferences;
  return { ...live, metadata: metadata as unknown as Service['metadata'], spec: mergeSpec(live.spec ?? {}, desired.spec ?? {}) as Service['spec'] };
}

/** Whether a write would change anything Waygate cares about. */
export function sameService(a: Service, b: Service): boolean {
  return stableStringify(ownedView(a)) === stableStringify(ownedView(b));
}

function ownedView(s: Service): unknown {
  return { labels: s.metadata.labels ?? {}, annotations: s.metadata.annotations ?? {}, ownerReferences: s.metadata.ownerReferences ?? [], spec: s.spec ?? {} };
}

function mergeSpec(live: Json, desired: NonNullable<Service['spec']>): Json {
  const type = desired.type ?? 'ClusterIP';
  const spec: Json = { ...live, type, selector: { ...(desired.selector ?? {}) }, ports: mergePorts(live.ports, desired.ports ?? [], type) };
  if (desired.externalIPs && desired.externalIPs.length > 0) spec.externalIPs = [...desired.externalIPs];
  else delete spec.externalIPs;
  if (desired.externalTrafficPolicy) spec.externalTrafficPolicy = desired.externalTrafficPolicy;
  if (type === 'ClusterIP') delete spec.externalTrafficPolicy;
  if (type !== 'LoadBalancer') {
    delete spec.loadBalancerClass;
    delete spec.allocateLoadBalancerNodePorts;
    delete spec.loadBalancerSourceRanges;
    delete spec.loadBalancerIP;
  }
  if (type !== 'LoadBalancer' || spec.externalTrafficPolicy !== 'Local') delete spec.healthCheckNodePort;
  return spec;
}

function mergePorts(live: unknown, desired: readonly ServicePort[], type: string): ServicePort[] {
  const current = Array.isArray(live) ? (live as ServicePort[]) : [];
  return desired.map((p) => {
    const protocol = p.protocol ?? 'TCP';
    const old = current.find((o) => o?.port === p.port && (o.protocol ?? 'TCP') === protocol);
    const port: Json = { name: p.name, protocol, port: p.port, targetPort: p.targetPort };
    if (p.appProtocol !== undefined) port.appProtocol = p.appProtocol;
    if (type !== 'ClusterIP' && old?.nodePort !== undefined) port.nodePort = old.nodePort;
    return port as unknown as ServicePort;
  });
}

function mergeRecord(
  live: Readonly<Record<string, string>> | undefined, desired: Readonly<Record<string, string>> | undefined, previouslySet: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = { ...(live ?? {}) };
  for (const key of previouslySet) if (!(desired && key in desired)) delete out[key];
  return Object.assign(out, desired ?? {});
}

/** Waygate's owner reference (to a Gateway) replaces any earlier one; others' references stay. */
function mergeOwners(live: readonly OwnerReference[] | undefined, desired: readonly OwnerReference[] | undefined): OwnerReference[] {
  const isGateway = (r: OwnerReference) => r?.kind === 'Gateway' && String(r?.apiVersion ?? '').startsWith('gateway.networking.k8s.io/');
  return [...(live ?? []).filter((r) => !isGateway(r)), ...(desired ?? [])];
}

function appliedKeys(labels: Readonly<Record<string, string>>, annotations: Readonly<Record<string, string>>): string {
  return JSON.stringify({
    labels: Object.keys(labels).sort(),
    annotations: Object.keys(annotations).filter((k) => k !== APPLIED_METADATA_ANNOTATION).sort(),
  });
}

function parseApplied(text: string | undefined): { labels: string[]; annotations: string[] } {
  try {
    const parsed = JSON.parse(text ?? '{}') as { labels?: unknown; annotations?: unknown };
    const keys = (v: unknown) => (Array.isArray(v) ? v.filter((k): k is string => typeof k === 'string') : []);
    return { labels: keys(parsed.labels), annotations: keys(parsed.annotations) };
  } catch {
    return { labels: [], annotations: [] };
  }
}
