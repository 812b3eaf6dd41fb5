// Hot path: Maglev consistent hashing: O(1) per pick (one table lookup), allocation-free; the
// table is built off the request path on update, O(M log M) for table size M.
import { BaseBalancer } from './endpoint-state.ts';
import { hash32 } from './hash-key.ts';
import type { CommonOptions, Endpoint, PickContext } from './types.ts';

export interface MaglevOptions extends CommonOptions {
  /** A prime, well above the endpoint count (the paper: M > 100·N). Default 65537. */
  readonly tableSize?: number;
}

const OFFSET_SEED = 0x6d61676c; // 'magl'
const SKIP_SEED = 0x65762121; // 'ev!!'

/**
 * Maglev (Eisenbud et al., NSDI 2016): each endpoint walks its own permutation of the table
 * slots, offset + j·skip mod M with offset and skip hashed from its key, and endpoints take
 * turns claiming their next free slot until the table is full; a request goes to the slot of
 * its hash mod M. Turns are weighted as in Envoy: an endpoint of half the heaviest weight
 * takes every second turn. When an endpoint comes or goes, about 1/N of the slots change
 * owner, plus a small extra share that the paper measures. A request without a hash key gets
 * a random slot (still in proportion to weights).
 */
export class MaglevBalancer extends BaseBalancer {
  readonly policy = 'Maglev';
  readonly #size: number;
  #table: Int32Array = new Int32Array(0);

  constructor(options: MaglevOptions = {}) {
    super(options);
    const size = options.tableSize ?? 65537;
    if (!isPrime(size)) throw new RangeError(`Maglev table size must be a prime, got ${size}`);
    this.#size = size;
  }

  get tableSize(): number {
    return this.#size;
  }

  protected rebuild(): void {
    this.#table = this.active.length === 0 ? new Int32Array(0) : this.#populate();
  }

  pick(ctx: PickContext): Endpoint | undefined {
    const table = this.#table;
    if (table.length === 0) return undefined;
    const slot = ctx.hash === undefined ? Math.floor(this.random() * table.length) : ctx.hash % table.length;
    return this.active[table[slot]];
  }

  /** The paper's population loop with Envoy's weighted turns; slots hold indexes into `active`. */
  #populate(): Int32Array {
    const active = this.active;
    const n = active.length;
    const m = this.#size;
    /** Each endpoint's current place in its permutation, and its step. */
    const place = new Int32Array(n);
    const skip = new Int32Array(n);
    const due = new Float64Array(n);
    let maxWeight = 0;
    for (let i = 0; i < n; i++) {
      place[i] = hash32(active[i].key, OFFSET_SEED) % m;
      skip[i] = (hash32(active[i].key, SKIP_SEED) % (m - 1)) + 1;
      maxWeight = Math.max(maxWeight, active[i].weight);
    }
    // Turns in key order, so that the table does not depend on the order endpoints arrive in.
    const order = Array.from(active.keys()).sort((x, y) => (active[x].key < active[y].key ? -1 : 1));
    const table = new Int32Array(m).fill(-1);
    let filled = 0;
    for (let turn = 1; filled < m; turn++) {
      for (let t = 0; t < n && filled < m; t++) {
        const i = order[t];
        const weight = active[i].weight;
        if (turn * weight < due[i]) continue;
        due[i] += maxWeight;
        let slot = place[i];
        while (table[slot] >= 0) slot = slot + skip[i] >= m ? slot + skip[i] - m : slot + skip[i];
        table[slot] = i;
        place[i] = slot + skip[i] >= m ? slot + skip[i] - m : slot + skip[i];
        filled++;
      }
    }
    return table;
  }
}

function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
