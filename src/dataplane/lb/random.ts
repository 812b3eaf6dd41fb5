// Hot path: the Random policy (O(1) unweighted, O(log n) weighted, no allocation), and the
// seeded generator that tests inject wherever a policy draws random numbers.
import { BaseBalancer, equalWeights } from './endpoint-state.ts';
import type { Endpoint, PickContext, Random } from './types.ts';

/** A deterministic generator in [0, 1) (mulberry32): the same seed gives the same sequence. */
export function seededRandom(seed: number): Random {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function randomIndex(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/** Uniform, or proportional to endpoint weights when they differ. */
export class RandomBalancer extends BaseBalancer {
  readonly policy = 'Random';
  /** Running sums of weights; empty when every weight is equal. */
  #cumulative: Float64Array = new Float64Array(0);

  protected rebuild(): void {
    const active = this.active;
    if (equalWeights(active)) {
      this.#cumulative = new Float64Array(0);
      return;
    }
    const sums = new Float64Array(active.length);
    let total = 0;
    for (let i = 0; i < active.length; i++) sums[i] = total += active[i].weight;
    this.#cumulative = sums;
  }

  pick(_ctx: PickContext): Endpoint | undefined {
    const active = this.active;
    const n = active.length;
    if (n <= 1) return active[0];
    const sums = this.#cumulative;
    if (sums.length === 0) return active[randomIndex(this.random, n)];
    return active[searchAbove(sums, this.random() * sums[n - 1])];
  }
}

/** The first index whose running sum exceeds `x`. */
export function searchAbove(sums: Float64Array, x: number): number {
  let lo = 0;
  let hi = sums.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sums[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
