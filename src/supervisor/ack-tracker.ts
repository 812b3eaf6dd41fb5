import type { FleetEnvelope } from './messages.ts';

// Which configuration version is live everywhere: the newest version that every current
// worker has acknowledged. Workers come and go (respawn); a new worker is not counted as
// live until it acks.
export class AckTracker {
  #acked = new Map<string, string>();
  #bindErrors = new Map<string, FleetEnvelope['bindErrors']>();
  #newest: string | undefined;
  #order = new Map<string, number>();
  #seq = 0;

  /** A version was published to every worker. */
  published(version: string): void {
    this.#newest = version;
    this.#order.set(version, ++this.#seq);
  }

  addWorker(id: string): void {
    if (!this.#acked.has(id)) this.#acked.set(id, '');
  }

  removeWorker(id: string): void {
    this.#acked.delete(id);
    this.#bindErrors.delete(id);
  }

  ack(id: string, version: string, binds: readonly { readonly name: string; readonly error?: string }[] = []): void {
    if (!this.#acked.has(id)) return;
    this.#acked.set(id, version);
    this.#bindErrors.set(id, binds.filter((b) => b.error).map((b) => ({ worker: id, name: b.name, error: b.error! })));
  }

  /** What the controller needs to know about the fleet. */
  fleet(): Omit<FleetEnvelope, 'type'> {
    const bindErrors = [...this.#acked.keys()].flatMap((id) => this.#bindErrors.get(id) ?? []);
    return { workers: this.workers, live: this.live, allLive: this.allLive, bindErrors };
  }

  get newest(): string | undefined {
    return this.#newest;
  }

  /** The oldest version any worker runs (undefined if a worker runs none yet). */
  get live(): string | undefined {
    let oldest: string | undefined;
    for (const v of this.#acked.values()) {
      if (!v) return undefined;
      if (oldest === undefined || (this.#order.get(v) ?? 0) < (this.#order.get(oldest) ?? 0)) oldest = v;
    }
    return oldest;
  }

  /** True when there are workers and all of them run the newest version. */
  get allLive(): boolean {
    return this.#acked.size > 0 && this.#newest !== undefined && this.live === this.#newest;
  }

  get workers(): string[] {
    return [...this.#acked.keys()];
  }
}
