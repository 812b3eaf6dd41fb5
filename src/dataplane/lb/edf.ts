// Hot path: earliest-deadline-first scheduling (as Envoy's EdfScheduler), O(log n) per pick
// and allocation-free; entries are built off the request path.
import type { EndpointState } from './endpoint-state.ts';

interface Entry {
  readonly endpoint: EndpointState;
  deadline: number;
  /** Ties on deadline go to the entry scheduled first. */
  order: number;
}

/**
 * Each endpoint is due every 1/weight time units: picking takes the earliest deadline, moves
 * the clock there and schedules that endpoint again after 1/weight, where the weight is read
 * at that moment (so it may depend on load).
 */
export class EdfScheduler {
  readonly #heap: Entry[];
  readonly #weightOf: (e: EndpointState) => number;
  #now = 0;
  #order = 0;

  constructor(endpoints: readonly EndpointState[], weightOf: (e: EndpointState) => number) {
    this.#weightOf = weightOf;
    this.#heap = endpoints.map((endpoint) => ({ endpoint, deadline: 1 / weightOf(endpoint), order: this.#order++ }));
    for (let i = (this.#heap.length >>> 1) - 1; i >= 0; i--) this.#siftDown(i);
  }

  get size(): number {
    return this.#heap.length;
  }

  pick(): EndpointState | undefined {
    const top = this.#heap[0];
    if (top === undefined) return undefined;
    this.#now = top.deadline;
    top.deadline = this.#now + 1 / this.#weightOf(top.endpoint);
    top.order = this.#order++;
    this.#siftDown(0);
    return top.endpoint;
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const entry = heap[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap[child + 1], heap[child])) child++;
      if (!before(heap[child], entry)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = entry;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.order < b.order);
}
