// The labels and annotations that tie a Service Waygate generates for a Gateway to Waygate and
// to that Gateway (docs/design/gateway-deployment.md). Shared by the translator, which computes
// the desired Services, and the Kubernetes provider, which writes them.

/** Every generated Service carries `app.kubernetes.io/managed-by: waygate`; garbage collection lists by it. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_WAYGATE = 'waygate';
/** The label the Gateway API suggests for resources generated for a Gateway (value cut to 63 characters). */
export const GATEWAY_NAME_LABEL = 'gateway.networking.k8s.io/gateway-name';
export const GATEWAY_NAMESPACE_LABEL = 'waygate.dev/gateway-namespace';
/** `<namespace>/<name>` of the Gateway a Service was generated for: its full identity. */
export const GATEWAY_ANNOTATION = 'waygate.dev/gateway';
/** On a Gateway: the type of its Service (LoadBalancer, NodePort or ClusterIP), overriding the default. */
export const SERVICE_TYPE_ANNOTATION = 'waygate.dev/service-type';
/** On a generated Service: the label and annotation keys Waygate set, so it can remove the ones it no longer sets. */
export const APPLIED_METADATA_ANNOTATION = 'waygate.dev/applied-metadata';
