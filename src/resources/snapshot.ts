// An immutable, deterministically ordered view of every object the translator reads.
import type { KubeObject, Snapshot } from '../api/index.ts';
export type { Snapshot } from '../api/index.ts';


/** Which snapshot field holds each kind (group-qualified where the kind name is ambiguous). */
export const KIND_FIELDS = {
  Namespace: 'namespaces',
  GatewayClass: 'gatewayClasses',
  Gateway: 'gateways',
  HTTPRoute: 'httpRoutes',
  ReferenceGrant: 'referenceGrants',
  Service: 'services',
  EndpointSlice: 'endpointSlices',
  Secret: 'secrets',
  ConfigMap: 'configMaps',
  BackendTrafficPolicy: 'backendTrafficPolicies',
  CustomResourceDefinition: 'customResourceDefinitions',
} as const satisfies Record<string, keyof Snapshot>;

export type SupportedKind = keyof typeof KIND_FIELDS;

const API_VERSIONS: Record<SupportedKind, readonly string[]> = {
  Namespace: ['v1'],
  GatewayClass: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
  Gateway: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
  HTTPRoute: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
  ReferenceGrant: ['gateway.networking.k8s.io/v1', 'gateway.networking.k8s.io/v1beta1'],
  Service: ['v1'],
  EndpointSlice: ['discovery.k8s.io/v1'],
  Secret: ['v1'],
  ConfigMap: ['v1'],
  BackendTrafficPolicy: ['waygate.dev/v1alpha1'],
  CustomResourceDefinition: ['apiextensions.k8s.io/v1'],
};

/** The snapshot field for an object of this apiVersion and kind, or undefined if Waygate ignores it. */
export function supportedKind(apiVersion: string, kind: string): SupportedKind | undefined {
  if (!Object.hasOwn(API_VERSIONS, kind)) return undefined;
  const k = kind as SupportedKind;
  return API_VERSIONS[k].includes(apiVersion) ? k : undefined;
}

export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({
  namespaces: [], gatewayClasses: [], gateways: [], httpRoutes: [], referenceGrants: [],
  services: [], endpointSlices: [], secrets: [], configMaps: [], backendTrafficPolicies: [],
  customResourceDefinitions: [],
});

export function compareObjects(a: KubeObject, b: KubeObject): number {
  const an = a.metadata.namespace ?? '';
  const bn = b.metadata.namespace ?? '';
  if (an !== bn) return an < bn ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}

/** Build a snapshot from loose objects (unknown kinds are dropped), sorted by namespace/name. */
export function snapshotOf(objects: Iterable<KubeObject>): Snapshot {
  const fields: Record<string, KubeObject[]> = {};
  for (const field of Object.values(KIND_FIELDS)) fields[field] = [];
  for (const obj of objects) {
    const kind = supportedKind(obj.apiVersion, obj.kind);
    if (kind) fields[KIND_FIELDS[kind]].push(obj);
  }
  for (const list of Object.values(fields)) list.sort(compareObjects);
  return Object.freeze(fields) as unknown as Snapshot;
}
