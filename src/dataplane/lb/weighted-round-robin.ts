// Hot path: smooth weighted round robin (nginx). O(1) when weights are equal, else O(n) per
// pick over the usable endpoints of one Service port; allocation-free.
import { BaseBalancer, equalWeights } from './endpoint-state.ts';
import type { EndpointState } from './endpoint-state.ts';
import type { Endpoint, PickContext } from './types.ts';

/**
 * Every pick adds each weight to the endpoint's running score, takes the highest score (the
 * first on a tie) and subtracts the total weight from it: weights 5,1,1 give a a b a c a a,
 * spread out rather than a a a a a b c. Scores of endpoints that stay survive an update, so
 * a health change does not restart the cycle; a new endpoint starts at 0.
 */
export class WeightedRoundRobinBalancer extends BaseBalancer {
  readonly policy = 'WeightedRoundRobin';
  #total = 0;
  /** Equal weights: the smooth sequence is plain rotation, kept by this cursor. */
  #uniform = true;
  #next = 0;

  protected rebuild(): void {
    const active = this.active;
    this.#uniform = equalWeights(active);
    let total = 0;
    for (const e of active) total += e.weight;
    this.#total = total;
    if (this.#next >= active.length) this.#next = 0;
  }

  pick(_ctx: PickContext): Endpoint | undefined {
    const active = this.active;
    const n = active.length;
    if (n <= 1) return active[0];
    if (this.warming()) return this.pickWarming(true, false);
    if (this.#uniform) {
      const i = this.#next;
      this.#next = i + 1 === n ? 0 : i + 1;
      return active[i];
    }
    let best: EndpointState = active[0];
    for (let i = 0; i < n; i++) {
      const e = active[i];
      e.current += e.weight;
      if (e.current > best.current) best = e;
    }
    best.current -= this.#total;
    return best;
  }
}
