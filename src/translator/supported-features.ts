// GatewayClass status.supportedFeatures: the Gateway API feature names (v1.6 conformance,
// pkg/features) of what the translator and the data plane do today, and nothing more.
// Gateway and HTTPRoute name the resources Waygate serves and gate every other feature; their
// core conformance is not complete yet (no HTTPS listeners, no core HTTPRoute filters).
// See docs/design/gateway-deployment.md for what is left out and why.
import type { TranslateOptions } from './types.ts';

export const SUPPORTED_FEATURES: readonly string[] = [
  'Gateway',
  'GatewayHTTPListenerIsolation', // a request matches the most specific listener only (compiler host tables)
  'GatewayPort8080', // any listener port; in a cluster the pods bind a container port of their own
  'HTTPRoute',
  'HTTPRouteBackendTimeout', // rules[].timeouts.backendRequest
  'HTTPRouteMethodMatching',
  'HTTPRouteParentRefPort', // parentRefs[].port selects listeners
  'HTTPRouteQueryParamMatching',
  'HTTPRouteRequestTimeout', // rules[].timeouts.request
  'ReferenceGrant', // HTTPRoute → Service across namespaces
];

/** Kubernetes mode only: an IPAddress without a value is given the address of the Gateway's Service. */
const KUBERNETES_FEATURES: readonly string[] = ['GatewayAddressEmpty'];

/** Sorted by name, as the GatewayClass CRD requires. */
export function supportedFeatures(options: TranslateOptions): { name: string }[] {
  const names = options.deployment ? [...SUPPORTED_FEATURES, ...KUBERNETES_FEATURES] : [...SUPPORTED_FEATURES];
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((name) => ({ name }));
}
