// Which kinds the status writer writes, where they live in the API, and how much of their
// status Waygate owns. One line per kind: GRPCRoute, TLSRoute, … are added here.
import { mergeOwnedStatus, mergePolicyAncestors, mergeRouteParents, type StatusMerge } from './status-merge.ts';

export interface StatusResource {
  readonly group: string;
  readonly kind: string;
  /** The version written: the stored (and served) version of the CRD. */
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /**
   * `whole`: Waygate owns the whole status (GatewayClasses whose controllerName is Waygate's, and
   * their Gateways). `route-parents`: Waygate owns only its own `status.parents` entries.
   * `policy-ancestors`: Waygate owns only its own `status.ancestors` entries (GEP-713).
   */
  readonly ownership: 'whole' | 'route-parents' | 'policy-ancestors';
  readonly merge: StatusMerge;
}

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

function route(kind: string, plural: string, version = 'v1'): StatusResource {
  return { group: GATEWAY_GROUP, kind, version, plural, namespaced: true, ownership: 'route-parents', merge: mergeRouteParents };
}

export const STATUS_RESOURCES: readonly StatusResource[] = [
  { group: GATEWAY_GROUP, kind: 'GatewayClass', version: 'v1', plural: 'gatewayclasses', namespaced: false, ownership: 'whole', merge: mergeOwnedStatus },
  { group: GATEWAY_GROUP, kind: 'Gateway', version: 'v1', plural: 'gateways', namespaced: true, ownership: 'whole', merge: mergeOwnedStatus },
  route('HTTPRoute', 'httproutes'),
  { group: 'waygate.dev', kind: 'BackendTrafficPolicy', version: 'v1alpha1', plural: 'backendtrafficpolicies', namespaced: true, ownership: 'policy-ancestors', merge: mergePolicyAncestors },
];

/** The resource for an object's apiVersion and kind (any served version of the group). */
export function findStatusResource(resources: readonly StatusResource[], apiVersion: string, kind: string): StatusResource | undefined {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  return resources.find((r) => r.kind === kind && r.group === group);
}
