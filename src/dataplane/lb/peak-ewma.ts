// Hot path: peak EWMA (Finagle, linkerd) over two random choices: O(1), allocation-free per pick.
import { BaseBalancer } from './endpoint-state.ts';
import type { EndpointState } from './endpoint-state.ts';
import { randomIndex } from './random.ts';
import type { CommonOptions, Endpoint, PickContext, RequestResult } from './types.ts';

export interface PeakEwmaOptions extends CommonOptions {
  /** Time constant of the decay: an observation weighs 1/e of its value after this long. Default 10 s. */
  readonly decayMs?: number;
  /** A failed request counts as at least this latency, so a fast-failing endpoint does not attract traffic. Default 1 s. */
  readonly failureLatencyMs?: number;
}

/** Cost of an endpoint with requests in flight but no response yet (Finagle's penalty). */
const PENALTY = 2 ** 47;

/**
 * The cost of an endpoint is its latency estimate × (requests in flight + 1), divided by its
 * weight; of two random endpoints the cheaper one wins. The estimate jumps up to any slower
 * response at once (the peak) and otherwise decays exponentially with time toward the recent
 * latencies, so an endpoint that slows down loses traffic immediately and wins it back
 * gradually. An endpoint with no response yet costs nothing while idle (it gets probed) and
 * the penalty while it has a request in flight, so a new endpoint is never flooded.
 */
export class PeakEwmaBalancer extends BaseBalancer {
  readonly policy = 'PeakEWMA';
  readonly #decayMs: number;
  readonly #failureLatencyMs: number;

  constructor(options: PeakEwmaOptions = {}) {
    super(options);
    this.#decayMs = Math.max(1, options.decayMs ?? 10_000);
    this.#failureLatencyMs = Math.max(0, options.failureLatencyMs ?? 1000);
  }

  protected rebuild(): void {}

  pick(_ctx: PickContext): Endpoint | undefined {
    const active = this.active;
    const n = active.length;
    if (n <= 1) return active[0];
    const i = randomIndex(this.random, n);
    let j = randomIndex(this.random, n - 1);
    if (j >= i) j++;
    const now = this.now();
    return this.cost(active[j], now) < this.cost(active[i], now) ? active[j] : active[i];
  }

  /** The load of an endpoint now; decays its estimate to `now` (Finagle does the same). */
  cost(endpoint: Endpoint, now: number = this.now()): number {
    const e = endpoint as EndpointState;
    if (e.ewmaMs < 0) return e.inflight === 0 ? 0 : PENALTY + e.inflight;
    this.#decay(e, now, 0);
    return (e.ewmaMs * (e.inflight + 1)) / e.weight;
  }

  protected override observe(e: EndpointState, result: RequestResult): void {
    const latency = result.ok ? result.latencyMs : Math.max(result.latencyMs, this.#failureLatencyMs);
    const now = this.now();
    if (e.ewmaMs < 0) {
      e.ewmaMs = Math.max(0, latency);
      e.stampMs = now;
    } else {
      this.#decay(e, now, latency);
    }
  }

  /** One observation of `latency` at `now`: a peak replaces the estimate, else it decays toward it. */
  #decay(e: EndpointState, now: number, latency: number): void {
    const elapsed = Math.max(now - e.stampMs, 0);
    e.stampMs = now;
    if (latency > e.ewmaMs) {
      e.ewmaMs = latency;
      return;
    }
    const w = Math.exp(-elapsed / this.#decayMs);
    e.ewmaMs = e.ewmaMs * w + latency * (1 - w);
  }
}
