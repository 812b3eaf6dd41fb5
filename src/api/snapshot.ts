// The whole input of the translator: every object read, sorted by namespace and name.
import type { ConfigMap, EndpointSlice, Namespace, Secret, Service } from './core.ts';
import type { Gateway, GatewayClass, HTTPRoute, ReferenceGrant } from './gateway-api.ts';
import type { CustomResourceDefinition } from './apiextensions.ts';
import type { BackendTrafficPolicy } from './waygate.ts';

export interface Snapshot {
  readonly namespaces: readonly Namespace[];
  readonly gatewayClasses: readonly GatewayClass[];
  readonly gateways: readonly Gateway[];
  readonly httpRoutes: readonly HTTPRoute[];
  readonly referenceGrants: readonly ReferenceGrant[];
  readonly services: readonly Service[];
  readonly endpointSlices: readonly EndpointSlice[];
  readonly secrets: readonly Secret[];
  readonly configMaps: readonly ConfigMap[];
  readonly backendTrafficPolicies: readonly BackendTrafficPolicy[];
  /** In a cluster: the Gateway API CRDs Waygate reads (metadata only), for GatewayClass SupportedVersion. */
  readonly customResourceDefinitions: readonly CustomResourceDefinition[];
}

/** The computed status of one object, as `/api/status`, `waygate translate` and the status writer see it. */
export interface ObjectStatus {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly namespace?: string; readonly name: string; readonly generation?: number };
  readonly status: unknown;
}
