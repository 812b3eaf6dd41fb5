// Hot path: consistent hashing on a ring (Ketama, as Envoy's RING_HASH): O(log ring size) per
// pick, allocation-free; the ring is built off the request path on update.
import { BaseBalancer } from './endpoint-state.ts';
import type { EndpointState } from './endpoint-state.ts';
import { hash32 } from './hash-key.ts';
import type { CommonOptions, Endpoint, PickContext } from './types.ts';

export interface RingHashOptions extends CommonOptions {
  /** Points per unit of endpoint weight. Default 256. */
  readonly pointsPerWeight?: number;
  /**
   * At least this many points in all: a smaller ring gets a power-of-two multiple of
   * pointsPerWeight. Default 512, which only changes a ring of one endpoint (that gets every key
   * anyway); raising it trades stability for services near the threshold (see below).
   */
  readonly minRingSize?: number;
  /** At most this many points. Default 8,388,608 (as Envoy). */
  readonly maxRingSize?: number;
}

/**
 * Each endpoint owns weight × pointsPerWeight points on a 32-bit ring, hash32(`key_i`); a
 * request goes to the first point at or after its hash. An endpoint's points depend on its own
 * key and weight only (not on the other endpoints, unlike Envoy's sizing), so when an endpoint
 * comes, goes or changes weight, only keys move to or from it: about 1/N of them. Only when
 * minRingSize or maxRingSize changes the points per weight does every endpoint's share shift.
 * A request without a hash key gets a random point (still in proportion to weights).
 */
export class RingHashBalancer extends BaseBalancer {
  readonly policy = 'RingHash';
  readonly #pointsPerWeight: number;
  readonly #minRingSize: number;
  readonly #maxRingSize: number;
  /** Sorted point hashes, and the rank (in #byRank) of each point's endpoint. */
  #hashes: Uint32Array = new Uint32Array(0);
  #ranks: Int32Array = new Int32Array(0);
  #byRank: EndpointState[] = [];
  /** Point hashes by endpoint key, kept while the endpoint is listed: rebuilds hash only newcomers. */
  #points = new Map<string, Uint32Array>();

  constructor(options: RingHashOptions = {}) {
    super(options);
    this.#pointsPerWeight = Math.max(1, Math.floor(options.pointsPerWeight ?? 256));
    this.#maxRingSize = Math.max(1, Math.floor(options.maxRingSize ?? 8_388_608));
    this.#minRingSize = Math.min(this.#maxRingSize, Math.max(1, Math.floor(options.minRingSize ?? 512)));
  }

  get ringSize(): number {
    return this.#hashes.length;
  }

  protected rebuild(): void {
    // Ranks in key order, so that points with equal hashes sort the same in every worker.
    const byRank = [...this.active].sort((x, y) => (x.key < y.key ? -1 : 1));
    let total = 0;
    for (const e of byRank) total += e.weight;
    const p = total === 0 ? 0 : pointsPerWeight(total, this.#pointsPerWeight, this.#minRingSize, this.#maxRingSize);
    // A point is hash · 2^21 + rank: exact in a double, so a plain numeric sort orders the ring.
    const packed = new Float64Array(total * p);
    let j = 0;
    for (let rank = 0; rank < byRank.length; rank++) {
      const points = this.#pointsOf(byRank[rank].key, byRank[rank].weight * p);
      for (let i = 0; i < points.length; i++) packed[j++] = points[i] * RANKS + rank;
    }
    packed.sort();
    const hashes = new Uint32Array(packed.length);
    const ranks = new Int32Array(packed.length);
    for (let i = 0; i < packed.length; i++) {
      ranks[i] = packed[i] % RANKS;
      hashes[i] = (packed[i] - ranks[i]) / RANKS;
    }
    this.#hashes = hashes;
    this.#ranks = ranks;
    this.#byRank = byRank;
    for (const key of this.#points.keys()) if (this.get(key) === undefined) this.#points.delete(key);
  }

  /** hash32(`key_i`) for i < count, from the cache when it has enough. */
  #pointsOf(key: string, count: number): Uint32Array {
    const cached = this.#points.get(key);
    if (cached !== undefined && cached.length >= count) return cached.subarray(0, count);
    const points = new Uint32Array(count);
    const known = cached === undefined ? 0 : cached.length;
    if (cached !== undefined) points.set(cached);
    for (let i = known; i < count; i++) points[i] = hash32(`${key}_${i}`);
    this.#points.set(key, points);
    return points;
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const hashes = this.#hashes;
    const n = hashes.length;
    if (n === 0) return undefined;
    const h = ctx.hash ?? Math.floor(this.random() * 4294967296);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hashes[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return this.#byRank[this.#ranks[lo === n ? 0 : lo]];
  }
}

/** Endpoint ranks a packed point can hold (2^21). */
const RANKS = 2_097_152;

/** Points per weight: pointsPerWeight, doubled until the ring reaches minRingSize, cut to maxRingSize. */
export function pointsPerWeight(totalWeight: number, perWeight: number, minRingSize: number, maxRingSize: number): number {
  let p = perWeight;
  while (p * totalWeight < minRingSize) p *= 2;
  return Math.max(1, Math.min(p, Math.floor(maxRingSize / totalWeight)));
}
