// Endpoint state kept across updates, the usable tiers, and the base every policy extends.
// update() runs off the request path (O(n) plus the policy's rebuild); onStart/onEnd are O(1).
import type {
  Balancer, Clock, CommonOptions, Endpoint, EndpointInput, PickContext, Random, RequestResult, ZonePreference,
} from './types.ts';

const MAX_WEIGHT = 1_000_000;

/** The least share of its weight an endpoint in slow start gets, so that it is probed at all. */
export const MIN_SLOW_START_FACTOR = 0.01;

/** The mutable state behind an Endpoint. A few fields belong to one policy each, so that every
 * endpoint has the same shape and picks stay monomorphic. */
export class EndpointState implements Endpoint {
  readonly key: string;
  weight = 1;
  zone: string | undefined = undefined;
  local = false;
  ready = true;
  serving = true;
  terminating = false;
  ejected = false;
  active = false;
  inflight = 0;
  /** Smooth weighted round robin: the running score. */
  current = 0;
  /** Peak EWMA: the latency estimate in ms, -1 until the first response; when it was last decayed. */
  ewmaMs = -1;
  stampMs = 0;
  /** Slow start: when the endpoint last joined the active set (the balancer's clock). */
  activeSince = -Infinity;

  constructor(key: string) {
    this.key = key;
  }
}

function normalizeWeight(weight: number | undefined): number {
  if (weight === undefined || !Number.isFinite(weight)) return 1;
  return Math.min(MAX_WEIGHT, Math.max(1, Math.round(weight)));
}

function assign(e: EndpointState, input: EndpointInput, zone: ZonePreference | undefined): void {
  e.weight = normalizeWeight(input.weight);
  e.zone = input.zone;
  e.local = zone !== undefined && (input.forZones !== undefined && input.forZones.length > 0 ? input.forZones.includes(zone.zone) : input.zone === zone.zone);
  e.terminating = input.terminating === true;
  e.serving = input.serving ?? true;
  e.ready = input.ready ?? (e.serving && !e.terminating);
  e.ejected = input.ejected === true;
}

/**
 * The endpoints a pick chooses from, by tier (architecture rule 3): ready ones that are not
 * ejected; when there are none, serving ones that are terminating; when every one of those is
 * ejected, all of them anyway (panic: an ejected endpoint may answer, a 503 never does).
 * Never an endpoint that is neither ready nor serving. With zone preference, the local
 * endpoints of that tier when there are at least `minLocal` of them, else the whole tier: the
 * tier comes first, so a local zone that is draining hands its traffic to ready endpoints
 * elsewhere, and zone preference never fails closed.
 */
export function selectActive(all: readonly EndpointState[], minLocal = 0): EndpointState[] {
  const ready = all.filter((e) => e.ready && !e.ejected);
  if (ready.length > 0) return preferLocal(ready, minLocal);
  const draining = all.filter((e) => e.serving && e.terminating && !e.ejected);
  if (draining.length > 0) return preferLocal(draining, minLocal);
  return preferLocal(all.filter((e) => e.ready || (e.serving && e.terminating)), minLocal);
}

/** The local endpoints of a tier when there are at least `minLocal` (> 0) of them. */
function preferLocal(tier: EndpointState[], minLocal: number): EndpointState[] {
  if (minLocal <= 0) return tier;
  let local = 0;
  for (const e of tier) if (e.local) local++;
  return local >= minLocal && local < tier.length ? tier.filter((e) => e.local) : tier;
}

/** Endpoint bookkeeping shared by every policy; a policy adds rebuild() and pick(). */
export abstract class BaseBalancer implements Balancer {
  abstract readonly policy: string;
  version = 0;
  protected all: EndpointState[] = [];
  protected active: EndpointState[] = [];
  protected readonly random: Random;
  protected readonly now: Clock;
  readonly #zone: ZonePreference | undefined;
  readonly #slowStartMs: number;
  /** Until when (the clock) some active endpoint is in slow start; 0: none is. */
  #warmUntil = 0;
  #byKey = new Map<string, EndpointState>();

  constructor(options: CommonOptions = {}) {
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
    this.#zone = options.zonePreference;
    const window = options.slowStartWindowMs ?? 0;
    this.#slowStartMs = Number.isFinite(window) && window > 0 ? window : 0;
  }

  get endpoints(): readonly Endpoint[] {
    return this.all;
  }

  get(key: string): Endpoint | undefined {
    return this.#byKey.get(key);
  }

  update(inputs: readonly EndpointInput[]): void {
    const previous = this.active;
    const weights = previous.map((e) => e.weight);
    const byKey = new Map<string, EndpointState>();
    for (const input of inputs) {
      if (byKey.has(input.key)) continue;
      const e = this.#byKey.get(input.key) ?? new EndpointState(input.key);
      assign(e, input, this.#zone);
      byKey.set(input.key, e);
    }
    this.#byKey = byKey;
    this.all = [...byKey.values()];
    for (const e of previous) e.active = false;
    this.active = selectActive(this.all, this.#zone === undefined ? 0 : Math.max(1, this.#zone.minEndpoints ?? 1));
    if (this.#slowStartMs > 0) this.#startSlow(previous);
    for (const e of this.active) e.active = true;
    this.version++;
    if (!sameActive(previous, weights, this.active)) this.rebuild(previous);
  }

  /** Endpoints that joined the active set start their window now; the first update starts none. */
  #startSlow(previous: readonly EndpointState[]): void {
    if (this.version === 0) return;
    const now = this.now();
    const was = new Set(previous);
    for (const e of this.active) {
      if (was.has(e)) continue;
      e.activeSince = now;
      e.current = 0;
      this.#warmUntil = Math.max(this.#warmUntil, now + this.#slowStartMs);
    }
  }

  /**
   * Whether some active endpoint is still in slow start (one clock read; none without a window).
   * Policies that honour slow start pick with `pickWarming` while it is true.
   */
  protected warming(): boolean {
    if (this.#warmUntil === 0) return false;
    if (this.now() < this.#warmUntil) return true;
    this.#warmUntil = 0;
    for (const e of this.active) e.current = 0;
    return false;
  }

  /**
   * The weight of `e` scaled by slow start at `now`: linear in its age over the window (Envoy's
   * aggression 1.0), at least MIN_SLOW_START_FACTOR of it.
   */
  protected slowStartWeight(e: EndpointState, now: number): number {
    const age = now - e.activeSince;
    if (age >= this.#slowStartMs) return e.weight;
    return e.weight * Math.max(MIN_SLOW_START_FACTOR, age / this.#slowStartMs);
  }

  /**
   * Smooth weighted round robin over the slow-start weights, each divided by `loadOf(e)` (1 for
   * round robin, inflight + 1 for least request); O(n) and allocation-free, only while warming.
   * `weighted` false treats every base weight as 1 (RoundRobin).
   */
  protected pickWarming(weighted: boolean, byLoad: boolean): EndpointState | undefined {
    const active = this.active;
    const n = active.length;
    if (n <= 1) return active[0];
    const now = this.now();
    let total = 0;
    let best: EndpointState = active[0];
    let bestScore = -Infinity;
    for (let i = 0; i < n; i++) {
      const e = active[i];
      let w = this.slowStartWeight(e, now);
      if (!weighted) w /= e.weight;
      if (byLoad) w /= e.inflight + 1;
      e.current += w;
      total += w;
      if (e.current > bestScore) { best = e; bestScore = e.current; }
    }
    best.current -= total;
    return best;
  }

  /** The active set or a weight in it changed; `previous` is the active set before. */
  protected abstract rebuild(previous: readonly EndpointState[]): void;

  abstract pick(ctx: PickContext): Endpoint | undefined;

  onStart(endpoint: Endpoint): void {
    (endpoint as EndpointState).inflight++;
  }

  onEnd(endpoint: Endpoint, result: RequestResult): void {
    const e = endpoint as EndpointState;
    if (e.inflight > 0) e.inflight--;
    this.observe(e, result);
  }

  /** Feedback for policies that learn from responses. */
  protected observe(_endpoint: EndpointState, _result: RequestResult): void {}
}

function sameActive(before: readonly EndpointState[], weights: readonly number[], after: readonly EndpointState[]): boolean {
  if (before.length !== after.length) return false;
  for (let i = 0; i < before.length; i++) {
    if (before[i] !== after[i] || weights[i] !== after[i].weight) return false;
  }
  return true;
}

/** Whether every endpoint has the same weight (then the unweighted fast paths apply). */
export function equalWeights(endpoints: readonly EndpointState[]): boolean {
  for (let i = 1; i < endpoints.length; i++) if (endpoints[i].weight !== endpoints[0].weight) return false;
  return true;
}
