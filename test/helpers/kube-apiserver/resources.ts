// The resources the test API server serves, described the way kube-apiserver's discovery
// describes them, plus the few per-resource rules of the real registry strategies that a
// client can observe.

export interface ResourceDef {
  /** '' for the core group. */
  readonly group: string;
  /** Served versions; the first is the storage version. */
  readonly versions: readonly string[];
  readonly kind: string;
  readonly plural: string;
  readonly singular: string;
  readonly namespaced: boolean;
  /** Whether a `/status` subresource exists (then spec writes ignore `.status` and vice versa). */
  readonly status: boolean;
  /** A CustomResourceDefinition rather than a built-in type (list items keep kind/apiVersion,
   * updates need a resourceVersion, strategic merge patch is refused). */
  readonly crd: boolean;
  readonly shortNames?: readonly string[];
  /** Field selectors the real server supports for this resource beyond metadata.name/namespace. */
  readonly fields?: Readonly<Record<string, (obj: KubeJson) => string | undefined>>;
}

export type KubeJson = Record<string, any>;

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

function core(kind: string, plural: string, namespaced: boolean, status: boolean, extra: Partial<ResourceDef> = {}): ResourceDef {
  return { group: '', versions: ['v1'], kind, plural, singular: kind.toLowerCase(), namespaced, status, crd: false, ...extra };
}

function gateway(kind: string, plural: string, versions: readonly string[], namespaced: boolean, status: boolean): ResourceDef {
  return { group: GATEWAY_GROUP, versions, kind, plural, singular: kind.toLowerCase(), namespaced, status, crd: true };
}

/** What a fresh test cluster serves. */
export function defaultResources(): ResourceDef[] {
  return [
    core('Namespace', 'namespaces', false, true, { shortNames: ['ns'], fields: { 'status.phase': (o) => o.status?.phase } }),
    core('Service', 'services', true, true, { shortNames: ['svc'] }),
    core('Secret', 'secrets', true, false, { fields: { type: (o) => o.type } }),
    core('ConfigMap', 'configmaps', true, false, { shortNames: ['cm'] }),
    { group: 'discovery.k8s.io', versions: ['v1'], kind: 'EndpointSlice', plural: 'endpointslices', singular: 'endpointslice', namespaced: true, status: false, crd: false, fields: { addressType: (o) => o.addressType } },
    { group: 'coordination.k8s.io', versions: ['v1'], kind: 'Lease', plural: 'leases', singular: 'lease', namespaced: true, status: false, crd: false },
    { group: 'apiextensions.k8s.io', versions: ['v1'], kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', singular: 'customresourcedefinition', namespaced: false, status: true, crd: false, shortNames: ['crd', 'crds'] },
    gateway('GatewayClass', 'gatewayclasses', ['v1', 'v1beta1'], false, true),
    gateway('Gateway', 'gateways', ['v1', 'v1beta1'], true, true),
    gateway('HTTPRoute', 'httproutes', ['v1', 'v1beta1'], true, true),
    gateway('GRPCRoute', 'grpcroutes', ['v1'], true, true),
    gateway('ReferenceGrant', 'referencegrants', ['v1', 'v1beta1'], true, false),
    gateway('TLSRoute', 'tlsroutes', ['v1alpha2'], true, true),
    gateway('TCPRoute', 'tcproutes', ['v1alpha2'], true, true),
    gateway('UDPRoute', 'udproutes', ['v1alpha2'], true, true),
    // Waygate's own CRD (deploy/crds/).
    { group: 'waygate.dev', versions: ['v1alpha1'], kind: 'BackendTrafficPolicy', plural: 'backendtrafficpolicies', singular: 'backendtrafficpolicy', namespaced: true, status: true, crd: true },
  ];
}

/** `services`, `httproutes.gateway.networking.k8s.io`: the name a CRD would have. */
export function resourceName(def: Pick<ResourceDef, 'group' | 'plural'>): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural;
}

export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** The storage key prefix, like etcd's `/registry/<group>/<plural>/`. */
export function storagePrefix(def: ResourceDef): string {
  return `/registry/${resourceName(def)}/`;
}

/** One entry of an APIResourceList, as `/api/v1` or `/apis/<group>/<version>` list it. */
export function discoveryEntries(def: ResourceDef): KubeJson[] {
  const verbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
  const main: KubeJson = { name: def.plural, singularName: def.singular, namespaced: def.namespaced, kind: def.kind, verbs };
  if (def.shortNames) main.shortNames = [...def.shortNames];
  const out = [main];
  if (def.status) out.push({ name: `${def.plural}/status`, singularName: '', namespaced: def.namespaced, kind: def.kind, verbs: ['get', 'patch', 'update'] });
  return out;
}
