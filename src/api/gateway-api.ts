// Gateway API v1.6 kinds (gateway.networking.k8s.io/v1) as Waygate reads them.
// Field names and comments follow the CRDs in the Gateway API release.
import type { Condition, KubeObject, LabelSelector } from './meta.ts';

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

export interface GatewayClass extends KubeObject {
  readonly kind: 'GatewayClass';
  readonly spec: {
    readonly controllerName: string;
    readonly parametersRef?: { readonly group: string; readonly kind: string; readonly name: string; readonly namespace?: string };
    readonly description?: string;
  };
}

export interface SecretObjectReference {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
}

export interface GatewayTLSConfig {
  readonly mode?: 'Terminate' | 'Passthrough';
  readonly certificateRefs?: readonly SecretObjectReference[];
  readonly options?: Readonly<Record<string, string>>;
}

/** Gateway.spec.tls.frontend…validation: client certificates checked against CA bundles. */
export interface FrontendTLSValidation {
  readonly caCertificateRefs?: readonly { readonly group?: string; readonly kind?: string; readonly name?: string; readonly namespace?: string }[];
  readonly mode?: string;
}

/** Gateway.spec.tls: frontend (client certificate validation) and backend (client certificate) TLS. */
export interface GatewayTLSConfigs {
  readonly frontend?: {
    readonly default?: { readonly validation?: FrontendTLSValidation };
    readonly perPort?: readonly { readonly port: number; readonly tls?: { readonly validation?: FrontendTLSValidation } }[];
  };
  readonly backend?: { readonly clientCertificateRef?: SecretObjectReference };
}

export interface RouteGroupKind {
  readonly group?: string;
  readonly kind: string;
}

export interface AllowedRoutes {
  readonly namespaces?: {
    readonly from?: 'All' | 'Same' | 'Selector' | 'None';
    readonly selector?: LabelSelector;
  };
  readonly kinds?: readonly RouteGroupKind[];
}

export interface Listener {
  readonly name: string;
  readonly hostname?: string;
  readonly port: number;
  readonly protocol: string;
  readonly tls?: GatewayTLSConfig;
  readonly allowedRoutes?: AllowedRoutes;
}

export interface GatewaySpecAddress {
  readonly type?: string;
  readonly value?: string;
}

export interface Gateway extends KubeObject {
  readonly kind: 'Gateway';
  readonly spec: {
    readonly gatewayClassName: string;
    readonly listeners: readonly Listener[];
    readonly addresses?: readonly GatewaySpecAddress[];
    readonly tls?: GatewayTLSConfigs;
    readonly infrastructure?: {
      readonly labels?: Readonly<Record<string, string>>;
      readonly annotations?: Readonly<Record<string, string>>;
      readonly parametersRef?: { readonly group: string; readonly kind: string; readonly name: string };
    };
  };
}

export interface ParentReference {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
  readonly sectionName?: string;
  readonly port?: number;
}

export type PathMatchType = 'Exact' | 'PathPrefix' | 'RegularExpression';
export type StringMatchType = 'Exact' | 'RegularExpression';

export interface HTTPPathMatch {
  readonly type?: PathMatchType;
  readonly value?: string;
}

export interface HTTPHeaderMatch {
  readonly type?: StringMatchType;
  readonly name: string;
  readonly value: string;
}

export interface HTTPQueryParamMatch {
  readonly type?: StringMatchType;
  readonly name: string;
  readonly value: string;
}

export interface HTTPRouteMatch {
  readonly path?: HTTPPathMatch;
  readonly headers?: readonly HTTPHeaderMatch[];
  readonly queryParams?: readonly HTTPQueryParamMatch[];
  readonly method?: string;
}

export interface HTTPHeader {
  readonly name: string;
  readonly value: string;
}

export interface HTTPHeaderFilter {
  readonly set?: readonly HTTPHeader[];
  readonly add?: readonly HTTPHeader[];
  readonly remove?: readonly string[];
}

export interface HTTPPathModifier {
  readonly type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  readonly replaceFullPath?: string;
  readonly replacePrefixMatch?: string;
}

/** HTTPRequestRedirectFilter. */
export interface HTTPRequestRedirectFilter {
  readonly scheme?: string;
  readonly hostname?: string;
  readonly path?: HTTPPathModifier;
  readonly port?: number;
  readonly statusCode?: number;
}

/** HTTPURLRewriteFilter. */
export interface HTTPURLRewriteFilter {
  readonly hostname?: string;
  readonly path?: HTTPPathModifier;
}

/** HTTPRequestMirrorFilter: `percent` and `fraction` are exclusive; neither means all requests. */
export interface HTTPRequestMirrorFilter {
  readonly backendRef: BackendObjectReference;
  readonly percent?: number;
  readonly fraction?: { readonly numerator: number; readonly denominator?: number };
}

/** HTTPCORSFilter. */
export interface HTTPCORSFilter {
  readonly allowOrigins?: readonly string[];
  readonly allowCredentials?: boolean;
  readonly allowMethods?: readonly string[];
  readonly allowHeaders?: readonly string[];
  readonly exposeHeaders?: readonly string[];
  readonly maxAge?: number;
}

/** LocalObjectReference: an implementation-specific filter (HTTPRouteFilter.extensionRef). */
export interface LocalObjectReference {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
}

export interface HTTPRouteFilter {
  readonly type: string;
  readonly requestHeaderModifier?: HTTPHeaderFilter;
  readonly responseHeaderModifier?: HTTPHeaderFilter;
  readonly requestRedirect?: HTTPRequestRedirectFilter;
  readonly urlRewrite?: HTTPURLRewriteFilter;
  readonly requestMirror?: HTTPRequestMirrorFilter;
  readonly extensionRef?: LocalObjectReference;
  readonly cors?: HTTPCORSFilter;
  /** Experimental channel (GEP-1494); Waygate does not support it. */
  readonly externalAuth?: unknown;
}

export interface BackendObjectReference {
  readonly group?: string;
  readonly kind?: string;
  readonly name: string;
  readonly namespace?: string;
  readonly port?: number;
}

export interface HTTPBackendRef extends BackendObjectReference {
  readonly weight?: number;
  readonly filters?: readonly HTTPRouteFilter[];
}

export interface HTTPRouteRule {
  readonly name?: string;
  readonly matches?: readonly HTTPRouteMatch[];
  readonly filters?: readonly HTTPRouteFilter[];
  readonly backendRefs?: readonly HTTPBackendRef[];
  readonly timeouts?: HTTPRouteTimeouts;
  readonly retry?: HTTPRouteRetry;
  readonly sessionPersistence?: SessionPersistence;
}

/** HTTPRouteTimeouts: GEP-2257 durations. */
export interface HTTPRouteTimeouts {
  readonly request?: string;
  readonly backendRequest?: string;
}

/** HTTPRouteRetry (experimental channel, GEP-1731). */
export interface HTTPRouteRetry {
  readonly codes?: readonly number[];
  readonly attempts?: number;
  readonly backoff?: string;
}

/**
 * HTTPRouteRule.sessionPersistence (experimental channel, GEP-1619). `idleTimeout` was in
 * earlier experimental CRDs (gateway-api#4771 dropped it) and is still read when present.
 */
export interface SessionPersistence {
  readonly sessionName?: string;
  readonly absoluteTimeout?: string;
  readonly idleTimeout?: string;
  readonly type?: string;
  readonly cookieConfig?: { readonly lifetimeType?: string };
}

export interface HTTPRoute extends KubeObject {
  readonly kind: 'HTTPRoute';
  readonly spec: {
    readonly parentRefs?: readonly ParentReference[];
    readonly hostnames?: readonly string[];
    readonly rules?: readonly HTTPRouteRule[];
  };
}

export interface ReferenceGrantFrom {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
}

export interface ReferenceGrantTo {
  readonly group: string;
  readonly kind: string;
  readonly name?: string;
}

export interface ReferenceGrant extends KubeObject {
  readonly kind: 'ReferenceGrant';
  readonly spec: {
    readonly from: readonly ReferenceGrantFrom[];
    readonly to: readonly ReferenceGrantTo[];
  };
}

// ---- status shapes (what the translator produces) ----

export interface GatewayClassStatus {
  readonly conditions: readonly Condition[];
  readonly supportedFeatures?: readonly { readonly name: string }[];
}

export interface ListenerStatus {
  readonly name: string;
  readonly supportedKinds: readonly RouteGroupKind[];
  readonly attachedRoutes: number;
  readonly conditions: readonly Condition[];
}

export interface GatewayStatus {
  readonly addresses?: readonly { readonly type: string; readonly value: string }[];
  readonly conditions: readonly Condition[];
  readonly listeners: readonly ListenerStatus[];
}

export interface RouteParentStatus {
  readonly parentRef: ParentReference;
  readonly controllerName: string;
  readonly conditions: readonly Condition[];
}

export interface RouteStatus {
  readonly parents: readonly RouteParentStatus[];
}
