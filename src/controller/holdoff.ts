// Coalesce bursts of changes without delaying a lone one. After a quiet period, the first
// change runs at once (on the next turn of the event loop, so that changes made together
// still go together); changes that follow within `holdoffMs` of a run are coalesced and run
// after `holdoffMs` of quiet, but never later than `maxDelayMs` after the first of them, so a
// steady stream of changes cannot starve a rebuild.
export class Holdoff {
  readonly #run: (firstChangeAt: number) => void;
  readonly #holdoffMs: number;
  readonly #maxDelayMs: number;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #firstAt: number | undefined;
  /** When the last run started; changes within `holdoffMs` of it are part of a burst. */
  #lastRunAt = Number.NEGATIVE_INFINITY;

  /** `run` gets the `performance.now()` of the first change of the burst. */
  constructor(run: (firstChangeAt: number) => void, holdoffMs: number, maxDelayMs: number) {
    this.#run = run;
    this.#holdoffMs = holdoffMs;
    this.#maxDelayMs = maxDelayMs;
  }

  trigger(): void {
    const now = performance.now();
    // A run is already due on the next turn: this change goes with it.
    if (this.#immediate !== undefined) return;
    this.#firstAt ??= now;
    if (this.#timer === undefined && now - this.#lastRunAt >= this.#holdoffMs) {
      this.#immediate = setImmediate(() => this.#fire(now));
      return;
    }
    const delay = Math.max(0, Math.min(this.#holdoffMs, this.#firstAt + this.#maxDelayMs - now));
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#fire(now), delay);
  }

  #fire(now: number): void {
    const firstAt = this.#firstAt ?? now;
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#firstAt = undefined;
    this.#lastRunAt = performance.now();
    this.#run(firstAt);
  }

  cancel(): void {
    clearTimeout(this.#timer);
    clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
    this.#firstAt = undefined;
  }
}
