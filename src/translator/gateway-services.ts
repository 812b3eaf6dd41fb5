// Kubernetes mode: the Service each Gateway gets (in the proxy pods' namespace, selecting them;
// one port per listener port, targeting the container port allocated for it), and the Gateway's
// addresses as the cluster made them (docs/design/gateway-deployment.md).
import {
  GATEWAY_ANNOTATION, GATEWAY_NAMESPACE_LABEL, GATEWAY_NAME_LABEL, MANAGED_BY_LABEL, MANAGED_BY_WAYGATE,
  SERVICE_TYPE_ANNOTATION, type OwnerReference, type Service, type ServicePort,
} from '../api/index.ts';
import { contentHash } from '../util/index.ts';
import { GatewayReason, ListenerReason, type Problem } from './conditions.ts';
import { keyOf, type TranslationContext } from './context.ts';
import { allocateContainerPorts, inRange, normalizePortRange, type PortRange } from './container-ports.ts';
import { list } from './fields.ts';
import type { GatewayServicePlan, GatewayState } from './model.ts';
import { compareAge, compareText } from './precedence.ts';
import type { GatewayServiceType, KubernetesDeployment } from './types.ts';

const SERVICE_TYPES: readonly string[] = ['LoadBalancer', 'NodePort', 'ClusterIP'];

/** Plans every Gateway's Service (setting `gateway.service`, marking listeners left without a port) and returns the desired Services, sorted by name. */
export function planGatewayServices(
  ctx: TranslationContext, gateways: readonly GatewayState[], deployment: KubernetesDeployment,
): Service[] {
  const range = normalizePortRange(deployment.portRange);
  const byAge = [...gateways].sort((a, b) => compareAge(a.gateway, b.gateway));
  const observed = new Map(byAge.map((gw) => [gw, observedService(ctx, gw, deployment.namespace)]));
  const allocation = allocateContainerPorts(byAge.map((gw) => ({
    key: keyOf(gw.namespace, gw.name),
    ports: listenerPorts(gw),
    pinned: pinnedPorts(observed.get(gw)!.service, range),
  })), range);
  const services = new Map<string, Service>();
  for (const gw of byAge) {
    const containerPorts = allocation.get(keyOf(gw.namespace, gw.name)) ?? new Map<number, number>();
    markPortsUnavailable(gw, containerPorts, range);
    const found = observed.get(gw)!;
    const type = serviceType(gw, found.service, deployment);
    const taken = services.has(found.name);
    const service = buildService(gw, found.name, type.type, containerPorts, deployment);
    if (service && !taken) services.set(found.name, service);
    gw.service = {
      namespace: deployment.namespace,
      name: found.name,
      containerPorts,
      ...(taken ? { addresses: [], notAssigned: nameTaken(found.name) } : observedAddresses(gw, found, deployment.namespace)),
      ...(type.note ? { note: type.note } : {}),
    };
  }
  return [...services.values()].sort((a, b) => compareText(a.metadata.name, b.metadata.name));
}

/**
 * `waygate-<namespace>-<name>-<hash>`: a DNS-1035 label of at most 63 characters. Dots become
 * dashes, the middle is cut to fit, and the hash of `<namespace>/<name>` keeps names apart.
 */
export function gatewayServiceName(namespace: string, name: string): string {
  // Objects from files may carry any shape: never throw on a non-string name.
  namespace = String(namespace);
  name = String(name);
  const hash = contentHash(`${namespace}/${name}`).slice(0, 8);
  const middle = `${namespace}-${name}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63 - 'waygate-'.length - 1 - hash.length).replace(/-+$/, '');
  return middle ? `waygate-${middle}-${hash}` : `waygate-${hash}`;
}

/** A label value (at most 63 characters) naming the Gateway: the name itself, or cut to 54 plus `-<hash>`. */
export function gatewayNameLabel(name: string): string {
  name = String(name);
  const clean = name.replace(/[^A-Za-z0-9._-]/g, '-');
  if (clean.length <= 63 && /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/.test(clean)) return clean;
  const head = clean.slice(0, 54).replace(/[^A-Za-z0-9]+$/, '');
  return `${head}${head ? '-' : ''}${contentHash(name).slice(0, 8)}`;
}

interface ObservedService {
  readonly name: string;
  /** The Service of that name, when it is the one Waygate generated for this Gateway. */
  readonly service?: Service;
  /** A Service of that name exists but is someone else's. */
  readonly foreign: boolean;
}

function observedService(ctx: TranslationContext, gw: GatewayState, namespace: string): ObservedService {
  const name = gatewayServiceName(gw.namespace, gw.name);
  const svc = ctx.services.get(keyOf(namespace, name));
  if (!svc) return { name, foreign: false };
  const ours = svc.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_WAYGATE
    && svc.metadata?.annotations?.[GATEWAY_ANNOTATION] === keyOf(gw.namespace, gw.name);
  return ours ? { name, service: svc, foreign: false } : { name, foreign: true };
}

/** Distinct valid listener ports, ascending: every listener counts, accepted or not, so its port is stable from the start. */
function listenerPorts(gw: GatewayState): number[] {
  const ports = new Set<number>();
  for (const l of gw.listeners) if (isPortNumber(l.spec.port)) ports.add(l.spec.port);
  return [...ports].sort((a, b) => a - b);
}

function isPortNumber(port: unknown): port is number {
  return Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535;
}

/** Container ports the Gateway's existing Service targets: they are kept. */
function pinnedPorts(service: Service | undefined, range: PortRange): Map<number, number> {
  const pinned = new Map<number, number>();
  for (const p of list(service?.spec?.ports)) {
    if (isPortNumber(p?.port) && inRange(p.targetPort, range) && !pinned.has(p.port)) pinned.set(p.port, p.targetPort);
  }
  return pinned;
}

function markPortsUnavailable(gw: GatewayState, containerPorts: ReadonlyMap<number, number>, range: PortRange): void {
  for (const l of gw.listeners) {
    if (!isPortNumber(l.spec.port) || containerPorts.has(l.spec.port)) continue;
    l.unavailable = {
      reason: ListenerReason.PortUnavailable,
      message: `no container port is free for port ${l.spec.port}: every port in ${range.first}-${range.last} serves another Gateway listener`,
    };
  }
}

/** The Gateway's `waygate.dev/service-type`, else the default; an unknown value keeps the Service's type. */
function serviceType(gw: GatewayState, observed: Service | undefined, deployment: KubernetesDeployment): { type: GatewayServiceType; note?: string } {
  const annotations = gw.gateway.metadata?.annotations;
  const asked = annotations && typeof annotations === 'object' ? annotations[SERVICE_TYPE_ANNOTATION] : undefined;
  if (asked === undefined) return { type: deployment.serviceType };
  if (SERVICE_TYPES.includes(asked)) return { type: asked as GatewayServiceType };
  const current = observed?.spec?.type;
  const type = current !== undefined && SERVICE_TYPES.includes(current) ? current as GatewayServiceType : deployment.serviceType;
  return { type, note: `annotation ${SERVICE_TYPE_ANNOTATION}: ${JSON.stringify(asked)} is not one of ${SERVICE_TYPES.join(', ')}; the Service stays ${type}` };
}

function buildService(
  gw: GatewayState, name: string, type: GatewayServiceType, containerPorts: ReadonlyMap<number, number>, deployment: KubernetesDeployment,
): Service | undefined {
  const ports = servicePorts(gw, containerPorts);
  if (ports.length === 0) return undefined;
  const owner = ownerReference(gw, deployment.namespace);
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: deployment.namespace,
      labels: sortedRecord({
        ...stringsOf(gw.gateway.spec?.infrastructure?.labels),
        [MANAGED_BY_LABEL]: MANAGED_BY_WAYGATE,
        [GATEWAY_NAME_LABEL]: gatewayNameLabel(gw.name),
        [GATEWAY_NAMESPACE_LABEL]: gw.namespace,
      }),
      annotations: sortedRecord({ ...stringsOf(gw.gateway.spec?.infrastructure?.annotations), [GATEWAY_ANNOTATION]: keyOf(gw.namespace, gw.name) }),
      ...(owner ? { ownerReferences: [owner] } : {}),
    },
    spec: {
      type,
      selector: sortedRecord({ ...deployment.proxySelector }),
      ports,
      ...(gw.requestedIps.length > 0 ? { externalIPs: [...gw.requestedIps] } : {}),
      ...(deployment.externalTrafficPolicy && type !== 'ClusterIP' ? { externalTrafficPolicy: deployment.externalTrafficPolicy } : {}),
    },
  };
}

/** One port per distinct listener port and L4 protocol (UDP for UDP listeners, TCP otherwise). */
function servicePorts(gw: GatewayState, containerPorts: ReadonlyMap<number, number>): ServicePort[] {
  const seen = new Map<string, ServicePort>();
  for (const l of gw.listeners) {
    const targetPort = containerPorts.get(l.spec.port);
    if (targetPort === undefined) continue;
    const protocol = l.spec.protocol === 'UDP' ? 'UDP' : 'TCP';
    const name = `${protocol.toLowerCase()}-${l.spec.port}`;
    if (!seen.has(name)) seen.set(name, { name, protocol, port: l.spec.port, targetPort });
  }
  return [...seen.values()].sort((a, b) => (a.port - b.port) || compareText(a.protocol ?? '', b.protocol ?? ''));
}

/** Only for a Gateway in the Services' namespace: the garbage collector deletes a dependent whose namespaced owner is not in its own namespace. */
function ownerReference(gw: GatewayState, namespace: string): OwnerReference | undefined {
  const uid = gw.gateway.metadata?.uid;
  if (gw.namespace !== namespace || typeof uid !== 'string' || uid === '') return undefined;
  const apiVersion = typeof gw.gateway.apiVersion === 'string' ? gw.gateway.apiVersion : 'gateway.networking.k8s.io/v1';
  return { apiVersion, kind: 'Gateway', name: gw.name, uid, controller: true };
}

type Addresses = Pick<GatewayServicePlan, 'addresses' | 'notAssigned'>;

/** status.addresses from the observed Service: the requested IPs it carries, and the address it was assigned when one is to be assigned. */
function observedAddresses(gw: GatewayState, found: ObservedService, namespace: string): Addresses {
  const ref = `Service ${keyOf(namespace, found.name)}`;
  const svc = found.service;
  if (!svc) {
    const message = found.foreign
      ? `${ref} exists but was not generated by Waygate for this Gateway (no annotation ${GATEWAY_ANNOTATION}: ${keyOf(gw.namespace, gw.name)}); delete that Service or rename the Gateway`
      : `Waiting for ${ref} to be created`;
    return { addresses: [], notAssigned: { reason: GatewayReason.AddressNotAssigned, message } };
  }
  const external = list(svc.spec?.externalIPs);
  const statics = gw.requestedIps.filter((ip) => external.includes(ip));
  const missing = gw.requestedIps.filter((ip) => !external.includes(ip));
  const dynamic = gw.dynamicAddress ? assignedAddresses(svc) : [];
  const addresses = dedupe([...statics.map((value) => ({ type: 'IPAddress', value })), ...dynamic]);
  let problem: Problem | undefined;
  if (missing.length > 0) {
    problem = { reason: GatewayReason.AddressNotAssigned, message: `Waiting for ${ref} to carry ${missing.join(', ')} in spec.externalIPs` };
  } else if (gw.dynamicAddress && dynamic.length === 0) {
    problem = { reason: GatewayReason.AddressNotAssigned, message: notAssignedMessage(svc, ref) };
  }
  return problem ? { addresses, notAssigned: problem } : { addresses };
}

function notAssignedMessage(svc: Service, ref: string): string {
  if (svc.spec?.type === 'LoadBalancer') {
    return `Waiting for the load balancer to assign an address to ${ref}; if the cluster has no load balancer controller, use a NodePort or ClusterIP Service (annotation ${SERVICE_TYPE_ANNOTATION} or --gateway-service-type)`;
  }
  return `Waiting for a cluster IP to be assigned to ${ref}`;
}

/** LoadBalancer: the ingress IPs and hostnames; ClusterIP and NodePort: the cluster IPs (clients reach a node port on another port than the listener's). */
function assignedAddresses(svc: Service): { type: string; value: string }[] {
  if (svc.spec?.type === 'LoadBalancer') {
    return list(svc.status?.loadBalancer?.ingress).flatMap((i) => {
      if (typeof i?.ip === 'string' && i.ip !== '') return [{ type: 'IPAddress', value: i.ip }];
      if (typeof i?.hostname === 'string' && i.hostname !== '') return [{ type: 'Hostname', value: i.hostname }];
      return [];
    });
  }
  const ips = list(svc.spec?.clusterIPs).length > 0 ? list(svc.spec?.clusterIPs) : [svc.spec?.clusterIP];
  return ips.filter((ip): ip is string => typeof ip === 'string' && ip !== '' && ip !== 'None').map((value) => ({ type: 'IPAddress', value }));
}

function nameTaken(name: string): Problem {
  return { reason: GatewayReason.AddressNotAssigned, message: `Service name ${name} is already used by an older Gateway; rename this Gateway` };
}

function dedupe(addresses: { type: string; value: string }[]): { type: string; value: string }[] {
  const seen = new Set<string>();
  return addresses.filter((a) => !seen.has(`${a.type}/${a.value}`) && seen.add(`${a.type}/${a.value}`));
}

function stringsOf(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === 'string'));
}

function sortedRecord(record: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => compareText(a, b)));
}
