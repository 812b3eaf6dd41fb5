// Upstream deadlines (connect, response head, body pauses, keep-alive idle) checked by one
// coarse timer instead of a timer per request: a request only writes a number. A deadline fires
// at most one tick late; the tick is a tenth of the shortest timeout, between 10 ms and 1 s.

/** A member's `deadlineKind` when it has no deadline: the sweep skips it. */
export const NO_DEADLINE = 0;

export interface Expiring {
  deadline: number;
  deadlineKind: number;
  onDeadline(): void;
}

export class DeadlineSweep {
  readonly tickMs: number;
  readonly #members = new Set<Expiring>();
  #timer: NodeJS.Timeout | undefined = undefined;

  /** `timeoutsMs`: the timeouts its members use; the shortest sets the tick. */
  constructor(timeoutsMs: readonly number[]) {
    this.tickMs = Math.max(10, Math.min(1000, Math.floor(Math.min(...timeoutsMs) / 10)));
  }

  add(member: Expiring): void {
    this.#members.add(member);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => this.#tick(), this.tickMs);
      this.#timer.unref();
    }
  }

  delete(member: Expiring): void {
    this.#members.delete(member);
    if (this.#members.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #tick(): void {
    const now = performance.now();
    for (const m of this.#members) if (m.deadlineKind !== NO_DEADLINE && now >= m.deadline) m.onDeadline();
  }
}
