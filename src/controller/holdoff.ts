// Coalesce bursts of changes: run after `holdoffMs` of quiet, but never later than `maxDelayMs`
// after the first change of a burst, so a steady stream of changes cannot starve a rebuild.
export class Holdoff {
  readonly #run: (firstChangeAt: number) => void;
  readonly #holdoffMs: number;
  readonly #maxDelayMs: number;
  #timer: NodeJS.Timeout | undefined;
  #firstAt: number | undefined;

  /** `run` gets the `performance.now()` of the first change of the burst. */
  constructor(run: (firstChangeAt: number) => void, holdoffMs: number, maxDelayMs: number) {
    this.#run = run;
    this.#holdoffMs = holdoffMs;
    this.#maxDelayMs = maxDelayMs;
  }

  trigger(): void {
    const now = performance.now();
    this.#firstAt ??= now;
    const delay = Math.max(0, Math.min(this.#holdoffMs, this.#firstAt + this.#maxDelayMs - now));
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const firstAt = this.#firstAt ?? now;
      this.#timer = undefined;
      this.#firstAt = undefined;
      this.#run(firstAt);
    }, delay);
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#firstAt = undefined;
  }
}
