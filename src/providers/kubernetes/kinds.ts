// The kinds the Kubernetes provider watches: one line each, so a new route kind (GRPCRoute,
// TLSRoute) or Ingress is added here and nowhere else in the provider.
import { GATEWAY_API_CRD_NAMES } from '../../api/index.ts';

export interface KubernetesKind {
  readonly kind: string;
  /** The version watched; objects enter the store with this apiVersion. */
  readonly apiVersion: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** Whether the provider's `labelSelector` applies (Gateway API objects Waygate is configured by). */
  readonly selectable: boolean;
  /** Only objects that a Gateway references are watched (see README: Secrets). */
  readonly referencedOnly?: boolean;
  /** What to install when the API server does not serve the kind (a CRD); absent for built-in kinds. */
  readonly install?: string;
  /**
   * Only these objects are read, each by its own watch with `fieldSelector=metadata.name=<name>`,
   * so RBAC can grant them by `resourceNames` (see README: CustomResourceDefinitions).
   */
  readonly names?: readonly string[];
  /** Objects enter the store with metadata only (apiVersion, kind, metadata): the rest is never read. */
  readonly metadataOnly?: boolean;
  /**
   * Read only where RBAC grants it: a 403 disables the kind (looked at again later) as a CRD
   * that is not installed does, instead of holding up the start. For what Waygate can do
   * without, so that an older ClusterRole does not stop it from serving.
   */
  readonly readIfPermitted?: boolean;
  /**
   * Waygate never reads this kind's status (it writes it): a change to the status alone is not
   * published (status-echo.ts), so Waygate's own status writes cost no rebuild.
   */
  readonly statusUnread?: boolean;
}

const WAYGATE_CRDS = "Waygate's CRDs (kubectl apply --server-side -f deploy/crds/)";
const GATEWAY_API = 'the Gateway API CRDs (standard channel: kubectl apply -f https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml)';

export const KUBERNETES_KINDS: readonly KubernetesKind[] = [
  { kind: 'Namespace', apiVersion: 'v1', plural: 'namespaces', namespaced: false, selectable: false },
  { kind: 'GatewayClass', apiVersion: 'gateway.networking.k8s.io/v1', plural: 'gatewayclasses', namespaced: false, selectable: false, install: GATEWAY_API, statusUnread: true },
  { kind: 'Gateway', apiVersion: 'gateway.networking.k8s.io/v1', plural: 'gateways', namespaced: true, selectable: true, install: GATEWAY_API, statusUnread: true },
  { kind: 'HTTPRoute', apiVersion: 'gateway.networking.k8s.io/v1', plural: 'httproutes', namespaced: true, selectable: true, install: GATEWAY_API, statusUnread: true },
  // v1beta1: served by every Gateway API release that has ReferenceGrant.
  { kind: 'ReferenceGrant', apiVersion: 'gateway.networking.k8s.io/v1beta1', plural: 'referencegrants', namespaced: true, selectable: false, install: GATEWAY_API },
  { kind: 'Service', apiVersion: 'v1', plural: 'services', namespaced: true, selectable: false },
  { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', plural: 'endpointslices', namespaced: true, selectable: false },
  { kind: 'Secret', apiVersion: 'v1', plural: 'secrets', namespaced: true, selectable: false, referencedOnly: true },
  { kind: 'ConfigMap', apiVersion: 'v1', plural: 'configmaps', namespaced: true, selectable: false },
  { kind: 'BackendTrafficPolicy', apiVersion: 'waygate.dev/v1alpha1', plural: 'backendtrafficpolicies', namespaced: true, selectable: false, install: WAYGATE_CRDS, statusUnread: true },
  // The Gateway API CRDs of the kinds above, for their bundle-version and channel annotations
  // (GatewayClass SupportedVersion).
  { kind: 'CustomResourceDefinition', apiVersion: 'apiextensions.k8s.io/v1', plural: 'customresourcedefinitions', namespaced: false, selectable: false, names: GATEWAY_API_CRD_NAMES, metadataOnly: true, readIfPermitted: true },
];

/** The collection path: `/api/v1/namespaces/ns/services`, `/apis/gateway.networking.k8s.io/v1/gateways`. */
export function collectionPath(kind: KubernetesKind, namespace: string | undefined): string {
  const root = kind.apiVersion.includes('/') ? `/apis/${kind.apiVersion}` : `/api/${kind.apiVersion}`;
  const scope = kind.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${root}${scope}/${kind.plural}`;
}

/** The store source a kind's objects are published under. */
export function sourceName(kind: KubernetesKind): string {
  return `kubernetes/${kind.kind}`;
}
