// CustomResourceDefinitions (apiextensions.k8s.io/v1), as far as Waygate reads them: the
// annotations the Gateway API project puts on its CRDs (implementer's guide, "Gateway API is
// delivered using CRDs"), which say which release of the API the cluster has installed.
import type { KubeObject } from './meta.ts';

/** Only metadata is read: the Kubernetes provider keeps nothing else of a CRD. */
export interface CustomResourceDefinition extends KubeObject {
  readonly spec?: unknown;
}

/** The Gateway API release (semver, e.g. `v1.6.1`) a CRD comes from. */
export const BUNDLE_VERSION_ANNOTATION = 'gateway.networking.k8s.io/bundle-version';
/** The release channel of a CRD: `standard` or `experimental`. */
export const CHANNEL_ANNOTATION = 'gateway.networking.k8s.io/channel';

/**
 * The CRDs of the Gateway API kinds Waygate reads (GatewayClass, Gateway, HTTPRoute,
 * ReferenceGrant): the only CRDs the Kubernetes provider reads, and the ones whose bundle
 * version decides GatewayClass SupportedVersion.
 */
export const GATEWAY_API_CRD_NAMES: readonly string[] = [
  'gatewayclasses.gateway.networking.k8s.io',
  'gateways.gateway.networking.k8s.io',
  'httproutes.gateway.networking.k8s.io',
  'referencegrants.gateway.networking.k8s.io',
];
