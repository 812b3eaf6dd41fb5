// Hot path: least request. Equal weights: power of two choices, O(1); unequal weights: EDF over
// weight / (inflight + 1)^bias, O(log n), as Envoy's LEAST_REQUEST. Allocation-free per pick.
import { EdfScheduler } from './edf.ts';
import { BaseBalancer, equalWeights } from './endpoint-state.ts';
import type { EndpointState } from './endpoint-state.ts';
import { randomIndex } from './random.ts';
import type { CommonOptions, Endpoint, PickContext } from './types.ts';

export interface LeastRequestOptions extends CommonOptions {
  /** Random candidates compared per pick (2: power of two choices). At least the endpoint count: full scan. */
  readonly choiceCount?: number;
  /** How strongly in-flight requests lower an endpoint's weight when weights differ (Envoy `active_request_bias`). */
  readonly activeRequestBias?: number;
}

export class LeastRequestBalancer extends BaseBalancer {
  readonly policy = 'LeastRequest';
  readonly #choiceCount: number;
  readonly #bias: number;
  /** Set when weights differ. */
  #edf: EdfScheduler | undefined = undefined;

  constructor(options: LeastRequestOptions = {}) {
    super(options);
    this.#choiceCount = Math.max(2, Math.floor(options.choiceCount ?? 2));
    this.#bias = Math.max(0, options.activeRequestBias ?? 1);
  }

  protected rebuild(): void {
    const bias = this.#bias;
    const weightOf = bias === 1
      ? (e: EndpointState) => e.weight / (e.inflight + 1)
      : (e: EndpointState) => e.weight / Math.pow(e.inflight + 1, bias);
    this.#edf = equalWeights(this.active) ? undefined : new EdfScheduler(this.active, weightOf);
  }

  pick(_ctx: PickContext): Endpoint | undefined {
    const active = this.active;
    const n = active.length;
    if (n <= 1) return active[0];
    if (this.warming()) return this.pickWarming(true, true);
    if (this.#edf !== undefined) return this.#edf.pick();
    if (this.#choiceCount >= n) return this.#scan(active);
    if (this.#choiceCount === 2) return this.#pickTwo(active);
    let best = active[randomIndex(this.random, n)];
    for (let c = 1; c < this.#choiceCount; c++) {
      const e = active[randomIndex(this.random, n)];
      if (e.inflight < best.inflight) best = e;
    }
    return best;
  }

  /** Two distinct random endpoints; the one with fewer requests in flight (the first on a tie). */
  #pickTwo(active: readonly EndpointState[]): EndpointState {
    const n = active.length;
    const i = randomIndex(this.random, n);
    let j = randomIndex(this.random, n - 1);
    if (j >= i) j++;
    return active[j].inflight < active[i].inflight ? active[j] : active[i];
  }

  /** All endpoints from a random start, so that ties spread. */
  #scan(active: readonly EndpointState[]): EndpointState {
    const n = active.length;
    const start = randomIndex(this.random, n);
    let best = active[start];
    for (let k = 1; k < n; k++) {
      const e = active[(start + k) % n];
      if (e.inflight < best.inflight) best = e;
    }
    return best;
  }
}
