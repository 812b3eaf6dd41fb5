// The intermediate representation: everything the data plane needs, nothing it does not.
// Plain, serializable, deterministic data. The data plane never sees a Kubernetes object.

export interface IR {
  /** One entry per socket the workers bind (address and port), sorted by name. */
  readonly binds: readonly IRBind[];
  /** Every backend (a Service port) any route forwards to or mirrors to, sorted by name. */
  readonly backends: readonly IRBackend[];
  /**
   * Every certificate an HTTPS listener serves, sorted by name; absent when there is none.
   * Carries private keys: dumps for people (`waygate translate`, the admin API) redact them.
   */
  readonly certificates?: readonly IRCertificate[];
}

/** A certificate and its key, from a Secret of type `kubernetes.io/tls`, checked by the translator. */
export interface IRCertificate {
  /** Stable name: `secret/<namespace>/<name>`. */
  readonly name: string;
  /** PEM: the leaf certificate first, then its chain. */
  readonly certificatePem: string;
  /** PEM: the private key of the leaf certificate. */
  readonly privateKeyPem: string;
  /**
   * The DNS names the leaf certificate is valid for (subjectAltName DNS entries, or the subject
   * CN when there is none), lower-case, wildcards as `*.example.com`; sorted. The data plane
   * picks a listener's certificate by the TLS server name with these.
   */
  readonly hostnames: readonly string[];
}

export interface IRBind {
  /** Stable name: `<address>:<port>`, IPv6 in brackets (`[::1]:8080`). */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /**
   * HTTPS binds terminate TLS: the server name (SNI) chooses the listener (most specific
   * hostname, as for Host), and the listener's certificate whose hostnames match the server
   * name (exact, then wildcard, else its first). HTTP and HTTPS listeners never share a bind.
   */
  readonly protocol: 'HTTP' | 'HTTPS';
  /**
   * The Gateway listeners that share this socket. A request is served by the listener whose
   * hostname matches the request host most specifically (exact, then the longest wildcard,
   * then a listener without hostname); listener isolation means a request never reaches
   * routes attached to another listener. Sorted by name.
   */
  readonly listeners: readonly IRHttpListener[];
}

export interface IRHttpListener {
  /** Stable name: `gateway/<namespace>/<name>/<listener>`. */
  readonly name: string;
  /** The listener hostname (exact or `*.` wildcard); absent means every host. */
  readonly hostname?: string;
  /**
   * The Gateway listener's own port (`spec.listeners[].port`), which is what clients see; the
   * bind's port differs in a cluster (a container port). Redirects use it.
   */
  readonly port: number;
  /** HTTPS listeners: names of IRCertificates, in `certificateRefs` order (at least one). */
  readonly certificates?: readonly string[];
  /**
   * Virtual hosts from the attached routes' hostnames intersected with the listener's.
   * A request goes to the most specific matching virtual host (exact, then the longest
   * wildcard, then `*`), and never falls through to a less specific one. Sorted by hostname.
   */
  readonly virtualHosts: readonly IRVirtualHost[];
}

export interface IRVirtualHost {
  /** `foo.example.com`, `*.example.com`, or `*` for any host. */
  readonly hostname: string;
  /** In Gateway API precedence order: the first route whose match accepts a request wins. */
  readonly routes: readonly IRRoute[];
}

export interface IRRoute {
  /** Stable name: `httproute/<namespace>/<name>/rule/<i>/match/<j>`. */
  readonly name: string;
  readonly match: IRMatch;
  readonly action: IRAction;
  /** Route timeouts in milliseconds (HTTPRouteRule.timeouts); absent: the defaults. */
  readonly timeouts?: IRTimeouts;
  /** The rule's filters (HTTPRouteRule.filters); absent: none. */
  readonly filters?: IRFilters;
  /** HTTPRouteRule.retry (experimental channel); absent: no retry beyond the connection-level ones. */
  readonly retry?: IRRouteRetry;
}

/**
 * Filters of a rule or of one backendRef. On a request they apply in this order: CORS (a
 * preflight is answered here and goes no further), request headers, URL rewrite, mirrors; the
 * response headers modifier applies to every answer of the route, Waygate's own included.
 */
export interface IRFilters {
  readonly requestHeaders?: IRHeaderModifier;
  readonly responseHeaders?: IRHeaderModifier;
  readonly urlRewrite?: IRUrlRewrite;
  /** Copies of the request sent to other backends; their answers are read and dropped. */
  readonly mirrors?: readonly IRMirror[];
  readonly cors?: IRCors;
}

/** HTTPHeaderFilter: names lower-case; `set` replaces every value, `add` appends one, `remove` drops every value. */
export interface IRHeaderModifier {
  readonly set: readonly { readonly name: string; readonly value: string }[];
  readonly add: readonly { readonly name: string; readonly value: string }[];
  readonly remove: readonly string[];
}

/** HTTPPathModifier. ReplacePrefixMatch replaces the matched prefix (the route's PathPrefix match value). */
export interface IRPathModifier {
  readonly type: 'ReplaceFullPath' | 'ReplacePrefixMatch';
  readonly value: string;
}

export interface IRUrlRewrite {
  /** Replaces the Host header sent upstream. */
  readonly hostname?: string;
  readonly path?: IRPathModifier;
}

export interface IRMirror {
  /** Name of an IRBackend. */
  readonly backend: string;
  /** The share of requests mirrored: numerator / denominator (100 / 100 when all). */
  readonly numerator: number;
  readonly denominator: number;
}

/** HTTPCORSFilter, as written (origins may hold `*` wildcards); method and header names as given. */
export interface IRCors {
  readonly allowOrigins: readonly string[];
  readonly allowCredentials: boolean;
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds: number;
}

/** HTTPRouteRetry: answers with one of `codes` (or a connection failure) are retried `attempts` times, `backoffMs` apart at least. */
export interface IRRouteRetry {
  /** Sorted, without duplicates; each 400–599. */
  readonly codes: readonly number[];
  readonly attempts: number;
  readonly backoffMs: number;
}

export interface IRTimeouts {
  readonly requestMs?: number;
  readonly backendRequestMs?: number;
}

export type IRStringMatchType = 'Exact' | 'RegularExpression';

export interface IRMatch {
  readonly path: { readonly type: 'Exact' | 'PathPrefix' | 'RegularExpression'; readonly value: string };
  /** Upper-case HTTP method; absent matches any method. */
  readonly method?: string;
  /** Header names are lower-cased; all must match. */
  readonly headers: readonly { readonly name: string; readonly type: IRStringMatchType; readonly value: string }[];
  /** Query parameter names are case-sensitive; all must match. */
  readonly queryParams: readonly { readonly name: string; readonly type: IRStringMatchType; readonly value: string }[];
}

export type IRAction = IRForwardAction | IRDirectResponseAction | IRRedirectAction;

/**
 * HTTPRequestRedirectFilter: the gateway answers `statusCode` with a Location built from the
 * request, each field absent keeping the request's value. Port rules (spec): with `port`
 * absent, `scheme` set means its well-known port (http 80, https 443), `scheme` absent means
 * the listener's port; the port is left out of Location when it is the scheme's well-known one.
 */
export interface IRRedirectAction {
  readonly type: 'Redirect';
  readonly scheme?: 'http' | 'https';
  readonly hostname?: string;
  readonly port?: number;
  readonly path?: IRPathModifier;
  readonly statusCode: 301 | 302 | 303 | 307 | 308;
}

export interface IRForwardAction {
  readonly type: 'Forward';
  /**
   * Weighted choices. A choice with `backend` forwards there; a choice without one answers
   * with `status` (500 for an invalid backendRef, as the spec requires for its share).
   * Choices of weight 0 are left out by the translator; the list is never empty.
   */
  readonly backends: readonly IRWeightedBackend[];
  /**
   * HTTPRouteRule.sessionPersistence (GEP-1619): a request whose session names a usable
   * endpoint of any backend of the rule goes there, before the weighted choice.
   */
  readonly sessionPersistence?: IRSessionPersistence;
}

export interface IRSessionPersistence {
  /** The cookie or header name: sessionName, or a name unique to the route rule. */
  readonly name: string;
  readonly type: 'Cookie' | 'Header';
  /** From the session's start; absent: no limit. */
  readonly absoluteTimeoutMs?: number;
  /** From the session's last request; absent: no limit. */
  readonly idleTimeoutMs?: number;
  /** `Permanent`: the cookie carries Max-Age (what is left of absoluteTimeout). `Session`: it does not. */
  readonly lifetime: 'Permanent' | 'Session';
  /** The cookie's Path. */
  readonly path: string;
  /** The cookie's Secure attribute. */
  readonly secure: boolean;
}

export interface IRWeightedBackend {
  readonly weight: number;
  /** Name of an IRBackend. */
  readonly backend?: string;
  /** Status to answer when `backend` is absent. */
  readonly status?: number;
  /** The backendRef's own filters, applied after the rule's; absent: none. */
  readonly filters?: IRFilters;
}

export interface IRDirectResponseAction {
  readonly type: 'DirectResponse';
  readonly status: number;
}

export interface IRBackend {
  /** Stable name: `service/<namespace>/<name>/<port>`. */
  readonly name: string;
  /**
   * Every endpoint some tier can use (`endpointUsable`), sorted by address then port, one per
   * address and port. Empty: requests get 503.
   */
  readonly endpoints: readonly IREndpoint[];
  /**
   * A Service of type ExternalName: the data plane resolves `hostname` (A and AAAA, honouring
   * their TTL) and balances over every address at `port`; `endpoints` is then empty.
   */
  readonly dns?: IRDnsBackend;
  /** How the data plane balances and checks this backend; absent: the defaults. */
  readonly policy?: IRBackendPolicy;
}

export interface IRDnsBackend {
  /** A lower-case RFC 1123 name without a trailing dot (or an IP address). */
  readonly hostname: string;
  /** The backendRef's port (the Service port). */
  readonly port: number;
}

/** Per-backend behaviour that policy resources (BackendTrafficPolicy) attach to a Service port. */
export interface IRBackendPolicy {
  /** Absent: `RoundRobin`. `RingHash` and `Maglev` always come with `hashKey`. */
  readonly loadBalancer?: IRLoadBalancer;
  /** What a hashing policy hashes; set only with `RingHash` or `Maglev`. */
  readonly hashKey?: IRHashKey;
  /** Sticky sessions by cookie, over whichever policy picks new clients. */
  readonly stickySession?: IRStickySession;
  /** Prefer endpoints in the data plane's own zone (`--zone`); absent: every zone alike. */
  readonly zone?: IRZonePreference;
  /** Retries of idempotent requests, beyond the connection-level retries every request gets. */
  readonly retries?: IRRetryPolicy;
  /** A new endpoint's share of traffic grows over the window. */
  readonly slowStart?: IRSlowStart;
  /** Active health checks, run once per node; absent: none. */
  readonly healthCheck?: IRHealthCheck;
  /** Passive outlier detection in each worker; absent: the defaults (src/dataplane/README.md). */
  readonly outlierDetection?: IROutlierDetection;
}

export type IRLoadBalancer = 'RoundRobin' | 'Random' | 'LeastRequest' | 'PeakEWMA' | 'RingHash' | 'Maglev';

/** What a hashing policy hashes. Header names are lower case. */
export type IRHashKey =
  | { readonly type: 'Header' | 'Cookie' | 'QueryParameter'; readonly name: string }
  | { readonly type: 'SourceIP' };

export interface IRStickySession {
  /** `Balanced`: honoured while the endpoint is picked at all. `Persistent`: while it is serving, even terminating. */
  readonly mode: 'Balanced' | 'Persistent';
  readonly cookieName: string;
  /** The cookie's Max-Age; absent: a cookie that ends with the browser session. */
  readonly maxAgeSeconds?: number;
}

export interface IRZonePreference {
  /** The local zone is used while at least this many of its endpoints are usable (at least 1). */
  readonly minEndpoints: number;
}

export type IRRetryOn = '5xx' | 'gateway-error' | 'reset' | 'connect-failure';

export interface IRRetryPolicy {
  /** Retries after the first attempt (1 to 10). */
  readonly attempts: number;
  /** Sorted, without duplicates. */
  readonly retryOn: readonly IRRetryOn[];
  readonly perTryTimeoutMs?: number;
}

export interface IRSlowStart {
  readonly windowMs: number;
}

/**
 * An active health check: every endpoint is probed every `intervalMs` plus a random jitter of
 * up to `jitterPercent` of it. An endpoint is unhealthy after `unhealthyThreshold` failed probes
 * in a row and healthy again after `healthyThreshold` passed ones; it starts healthy.
 */
export interface IRHealthCheck {
  /** HTTP: a request whose status must be expected; TCP: a connection that opens. */
  readonly type: 'HTTP' | 'TCP';
  /** Default 3000. */
  readonly intervalMs?: number;
  /** Default 1000: a probe that takes longer fails. */
  readonly timeoutMs?: number;
  /** Default 10 (percent of the interval, added). */
  readonly jitterPercent?: number;
  /** Default 3. */
  readonly unhealthyThreshold?: number;
  /** Default 1. */
  readonly healthyThreshold?: number;
  /** With type HTTP; absent: GET / with the endpoint as Host. */
  readonly http?: IRHttpHealthCheck;
}

export interface IRHttpHealthCheck {
  /** Default `/`. */
  readonly path?: string;
  /** Default GET. */
  readonly method?: string;
  /** The Host header; default the endpoint's `address:port`. */
  readonly host?: string;
  /** Inclusive status ranges that pass; default 200–299. */
  readonly expectedStatuses?: readonly { readonly start: number; readonly end: number }[];
}

/**
 * Passive outlier detection (Envoy's consecutive-failure model): an endpoint is ejected after
 * `consecutive5xx` 5xx answers or local failures in a row, or `consecutiveGatewayFailure`
 * connect errors, resets, timeouts or 502/503/504 answers in a row; 0 turns a rule off.
 */
export interface IROutlierDetection {
  /** Default 0 (off): an application's 500 is not always a sick endpoint. */
  readonly consecutive5xx?: number;
  /** Default 5. */
  readonly consecutiveGatewayFailure?: number;
  /** Ejection time is this times the number of recent ejections; default 30000. */
  readonly baseEjectionTimeMs?: number;
  /** Default 300000. */
  readonly maxEjectionTimeMs?: number;
  /** At most this share of endpoints is ejected at once, but always one may be; default 10, 0 ejects none. */
  readonly maxEjectionPercent?: number;
  /** The ejection count drops by one for each interval an endpoint stays in service; default 10000. */
  readonly intervalMs?: number;
}

/**
 * One endpoint with its EndpointSlice conditions. The data plane picks ready endpoints, and
 * serving terminating ones only when none is ready (or for a session that persists on one), so
 * the choice of tier is the data plane's, not the translator's. A condition is written only when
 * it differs from its default; read them with `endpointReady`, `endpointServing` and
 * `endpointTerminating` (endpoints.ts).
 */
export interface IREndpoint {
  readonly address: string;
  readonly port: number;
  /** Default: `serving && !terminating` (true only otherwise with Service `publishNotReadyAddresses`). */
  readonly ready?: boolean;
  /** Default: true. */
  readonly serving?: boolean;
  /** Default: false. */
  readonly terminating?: boolean;
  readonly zone?: string;
  /** EndpointSlice `hints.forZones`: the zones this endpoint serves (topology-aware routing), sorted. */
  readonly forZones?: readonly string[];
}
