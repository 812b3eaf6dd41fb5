// GatewayClass status.supportedFeatures: the Gateway API feature names (v1.6 conformance,
// pkg/features) of what the translator and the data plane do today, and nothing more.
// docs/conformance.md lists every feature of the GATEWAY-HTTP profile, claimed or not, and why.
import type { TranslateOptions } from './types.ts';

export const SUPPORTED_FEATURES: readonly string[] = [
  'Gateway',
  'GatewayHTTPListenerIsolation', // a request matches the most specific listener only (compiler host tables)
  'GatewayHTTPSListenerDetectMisdirectedRequests', // 421 when Host selects another listener than SNI did
  'GatewayPort8080', // any listener port; in a cluster the pods bind a container port of their own
  'HTTPRoute',
  'HTTPRoute303RedirectStatusCode',
  'HTTPRoute307RedirectStatusCode',
  'HTTPRoute308RedirectStatusCode',
  'HTTPRouteBackendProtocolWebSocket', // HTTP/1.1 Upgrade is tunnelled to any backend; appProtocol kubernetes.io/ws needs nothing more
  'HTTPRouteBackendRequestHeaderModification', // backendRefs[].filters RequestHeaderModifier
  'HTTPRouteBackendTimeout', // rules[].timeouts.backendRequest
  'HTTPRouteCORS',
  'HTTPRouteHostRewrite',
  'HTTPRouteMethodMatching',
  'HTTPRouteNamedRouteRule',
  'HTTPRouteParentRefPort', // parentRefs[].port selects listeners
  'HTTPRoutePathRedirect',
  'HTTPRoutePathRewrite',
  'HTTPRoutePortRedirect',
  'HTTPRouteQueryParamMatching',
  'HTTPRouteRequestMirror',
  'HTTPRouteRequestMultipleMirrors',
  'HTTPRouteRequestPercentageMirror',
  'HTTPRouteRequestTimeout', // rules[].timeouts.request
  'HTTPRouteResponseHeaderModification',
  'HTTPRouteRetry', // experimental rules[].retry
  'HTTPRouteRetryBackendTimeout',
  'HTTPRouteRetryConnectionError',
  'HTTPRouteSchemeRedirect',
  'ReferenceGrant', // HTTPRoute → Service and Gateway → Secret across namespaces
];

/** Kubernetes mode only: an IPAddress without a value is given the address of the Gateway's Service. */
const KUBERNETES_FEATURES: readonly string[] = ['GatewayAddressEmpty'];

/** Sorted by name, as the GatewayClass CRD requires. */
export function supportedFeatures(options: TranslateOptions): { name: string }[] {
  const names = options.deployment ? [...SUPPORTED_FEATURES, ...KUBERNETES_FEATURES] : [...SUPPORTED_FEATURES];
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((name) => ({ name }));
}
