// The one interface every load-balancing policy implements, and the data it reads.

/** A number in [0, 1), as Math.random returns; injected so that tests are deterministic. */
export type Random = () => number;

/** Milliseconds. Monotonic for balancer feedback (performance.now), wall time for session tokens. */
export type Clock = () => number;

/** One endpoint of a Service port as the health view reports it. */
export interface EndpointInput {
  /** `address:port` (`[v6]:port`), the key of its upstream pool. Stable across updates. */
  readonly key: string;
  /** A positive integer, 1 when absent; other values are rounded and clamped to 1..1,000,000. */
  readonly weight?: number;
  readonly zone?: string;
  /** EndpointSlice `hints.forZones`: the zones the endpoint serves; when present, they decide whether it is local. */
  readonly forZones?: readonly string[];
  /** EndpointSlice `ready`; defaults to `serving && !terminating`. */
  readonly ready?: boolean;
  /** EndpointSlice `serving`; defaults to true. */
  readonly serving?: boolean;
  /** EndpointSlice `terminating`; defaults to false. */
  readonly terminating?: boolean;
  /** Taken out by active health checking or outlier detection. */
  readonly ejected?: boolean;
}

/** An endpoint as a balancer keeps it: the same object for as long as its key stays. */
export interface Endpoint {
  readonly key: string;
  readonly weight: number;
  readonly zone: string | undefined;
  /** In the balancer's local zone (see ZonePreference); false without one. */
  readonly local: boolean;
  readonly ready: boolean;
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly ejected: boolean;
  /** In the tier pick() chooses from now (see tiers in endpoint-state.ts). */
  readonly active: boolean;
  /** Requests between onStart and onEnd. */
  readonly inflight: number;
}

/**
 * What a pick may need from the request. Callers keep one object per worker and overwrite its
 * fields for each request, so that a pick allocates nothing.
 */
export interface PickContext {
  /** 32-bit hash of the request's hash key (see hash-key.ts); undefined: hashing policies pick at random. */
  hash?: number | undefined;
  /** The sticky cookie's value, when the request carries one (see sticky.ts). */
  sticky?: string | undefined;
}

export interface RequestResult {
  /** From the start of the upstream exchange to the response headers (or the failure). */
  readonly latencyMs: number;
  /** False for a connect error, reset, timeout or 5xx. */
  readonly ok: boolean;
}

export interface Balancer {
  /** The registry name of the policy (`RoundRobin`, `Maglev`, …). */
  readonly policy: string;
  /** Increases on every update(); lets layers that index endpoints (sticky) rebuild lazily. */
  readonly version: number;
  /** Every endpoint of the last update, in its order, usable or not. */
  readonly endpoints: readonly Endpoint[];
  /**
   * Replaces the endpoint list. Endpoints whose key stays keep their state (in-flight counts,
   * latency estimates, smooth-WRR scores); hash tables are rebuilt, which moves only the keys
   * of endpoints that came or went.
   */
  update(endpoints: readonly EndpointInput[]): void;
  /** An endpoint for one request, or undefined when none is usable. */
  pick(ctx: PickContext): Endpoint | undefined;
  get(key: string): Endpoint | undefined;
  /** The request was sent to `endpoint`. */
  onStart(endpoint: Endpoint): void;
  /** The request sent to `endpoint` finished. */
  onEnd(endpoint: Endpoint, result: RequestResult): void;
}

/**
 * Topology-aware routing: within the tier picks choose from, endpoints in `zone` are preferred
 * while at least `minEndpoints` of them are in it; otherwise the whole tier is used, so zone
 * preference never leaves a request without an endpoint.
 */
export interface ZonePreference {
  /** The zone of this proxy. An endpoint is local when its `forZones` hints name it, or, without hints, when its zone is it. */
  readonly zone: string;
  /** Default 1. */
  readonly minEndpoints?: number;
}

/** Options every policy accepts; each policy adds its own. */
export interface CommonOptions {
  /** Defaults to Math.random. */
  readonly random?: Random;
  /** Defaults to performance.now. */
  readonly now?: Clock;
  /** Absent: every zone alike. */
  readonly zonePreference?: ZonePreference;
  /**
   * Slow start (Envoy's, aggression 1.0): for this many ms after an endpoint joins the usable
   * set (added, or back from ejection or unreadiness), its weight is scaled by its age over the
   * window, at least MIN_SLOW_START_FACTOR. Honoured by RoundRobin, WeightedRoundRobin and
   * LeastRequest; 0 or absent: off. Endpoints of the first update do not slow start.
   */
  readonly slowStartWindowMs?: number;
}
