// Waygate's own kinds (group waygate.dev). Field names and contracts follow
// deploy/crds/waygate.dev_backendtrafficpolicies.yaml.
import type { ParentReference } from './gateway-api.ts';
import type { Condition, KubeObject } from './meta.ts';

export const WAYGATE_GROUP = 'waygate.dev';
export const BACKEND_TRAFFIC_POLICY_API_VERSION = 'waygate.dev/v1alpha1';

/** GEP-713 LocalPolicyTargetReferenceWithSectionName: an object in the policy's namespace. */
export interface LocalPolicyTargetReferenceWithSectionName {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
  /** For a Service: the name of one of its ports. */
  readonly sectionName?: string;
}

export interface BackendLoadBalancerSpec {
  readonly type?: string;
  readonly hashKey?: { readonly type?: string; readonly name?: string };
}

export interface BackendStickySessionSpec {
  readonly mode?: string;
  readonly cookieName?: string;
  readonly ttl?: string;
}

export interface BackendZoneAwareSpec {
  readonly preferLocal?: boolean;
  readonly minEndpoints?: number;
}

export interface BackendActiveHealthCheckSpec {
  readonly type?: string;
  readonly path?: string;
  readonly expectedStatuses?: readonly string[];
  readonly interval?: string;
  readonly timeout?: string;
  readonly healthyThreshold?: number;
  readonly unhealthyThreshold?: number;
  readonly jitterPercent?: number;
}

export interface BackendOutlierDetectionSpec {
  readonly consecutive5xx?: number;
  readonly consecutiveGatewayFailures?: number;
  readonly interval?: string;
  readonly baseEjectionTime?: string;
  readonly maxEjectionTime?: string;
  readonly maxEjectionPercent?: number;
}

export interface BackendRetrySpec {
  readonly attempts?: number;
  readonly retryOn?: readonly string[];
  readonly perTryTimeout?: string;
}

/** The settings of BackendTrafficPolicy.spec (less targetRefs); Service annotations map onto the same shape. */
export interface BackendTrafficSettings {
  readonly loadBalancer?: BackendLoadBalancerSpec;
  readonly sessionPersistence?: BackendStickySessionSpec;
  readonly zoneAware?: BackendZoneAwareSpec;
  readonly healthCheck?: { readonly active?: BackendActiveHealthCheckSpec };
  readonly outlierDetection?: BackendOutlierDetectionSpec;
  readonly retries?: BackendRetrySpec;
  readonly slowStart?: { readonly window?: string };
}

export interface BackendTrafficPolicySpec extends BackendTrafficSettings {
  readonly targetRefs: readonly LocalPolicyTargetReferenceWithSectionName[];
}

/** GEP-713 PolicyAncestorStatus. */
export interface PolicyAncestorStatus {
  readonly ancestorRef: ParentReference;
  readonly controllerName: string;
  readonly conditions: readonly Condition[];
}

export interface PolicyStatus {
  readonly ancestors: readonly PolicyAncestorStatus[];
}

export interface BackendTrafficPolicy extends KubeObject {
  readonly kind: 'BackendTrafficPolicy';
  readonly spec: BackendTrafficPolicySpec;
  readonly status?: PolicyStatus;
}
