// Hot path: plain round robin over the usable endpoints, O(1) and allocation-free per pick.
import { BaseBalancer } from './endpoint-state.ts';
import type { EndpointState } from './endpoint-state.ts';
import type { Endpoint, PickContext } from './types.ts';

/** Each usable endpoint in turn, in the order of the endpoint list; weights are ignored (but slow start is not). */
export class RoundRobinBalancer extends BaseBalancer {
  readonly policy = 'RoundRobin';
  #next = 0;

  /** The rotation goes on from the endpoint that was next, when it is still usable. */
  protected rebuild(previous: readonly EndpointState[]): void {
    const next = previous[this.#next];
    const at = next === undefined ? -1 : this.active.indexOf(next);
    this.#next = at >= 0 ? at : 0;
  }

  pick(_ctx: PickContext): Endpoint | undefined {
    const active = this.active;
    const n = active.length;
    if (n <= 1) return active[0];
    if (this.warming()) return this.pickWarming(false, false);
    const i = this.#next < n ? this.#next : 0;
    this.#next = i + 1 === n ? 0 : i + 1;
    return active[i];
  }
}
