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
  #hashes: Uint32Array = new Uint32Array(0);
  #owners: EndpointState[] = [];

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
    const points = buildRing(this.active, this.#pointsPerWeight, this.#minRingSize, this.#maxRingSize);
    this.#hashes = Uint32Array.from(points, (p) => p.hash);
    this.#owners = points.map((p) => p.endpoint);
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
    return this.#owners[lo === n ? 0 : lo];
  }
}

interface Point {
  readonly hash: number;
  readonly endpoint: EndpointState;
}

/** Points per weight: pointsPerWeight, doubled until the ring reaches minRingSize, cut to maxRingSize. */
export function pointsPerWeight(totalWeight: number, perWeight: number, minRingSize: number, maxRingSize: number): number {
  let p = perWeight;
  while (p * totalWeight < minRingSize) p *= 2;
  return Math.max(1, Math.min(p, Math.floor(maxRingSize / totalWeight)));
}

function buildRing(active: readonly EndpointState[], perWeight: number, minRingSize: number, maxRingSize: number): Point[] {
  let total = 0;
  for (const e of active) total += e.weight;
  if (total === 0) return [];
  const p = pointsPerWeight(total, perWeight, minRingSize, maxRingSize);
  const points: Point[] = [];
  for (const e of active) {
    for (let i = 0; i < e.weight * p; i++) points.push({ hash: hash32(`${e.key}_${i}`), endpoint: e });
  }
  return points.sort((a, b) => a.hash - b.hash || (a.endpoint.key < b.endpoint.key ? -1 : a.endpoint.key > b.endpoint.key ? 1 : 0));
}
