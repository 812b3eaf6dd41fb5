// What a worker knows of the active health checks run once per node: the endpoints found
// unhealthy, by health key. Changed by health updates (IPC envelopes, or in-process calls).

/** One endpoint under one check; `key` is `<check id> <address:port>` (health-check.ts). */
export interface HealthEntry {
  readonly key: string;
  readonly healthy: boolean;
  /** Why the last probe passed or failed (`status 503`, `ECONNREFUSED`, `timeout`), for logs. */
  readonly reason?: string;
}

/**
 * Changes of the health view, or (`full`) the whole view: then every key it does not list as
 * unhealthy is healthy. Endpoints start healthy, so a full view lists unhealthy ones only.
 */
export interface HealthUpdate {
  readonly full: boolean;
  readonly entries: readonly HealthEntry[];
}

export class HealthView {
  #unhealthy = new Set<string>();

  /** Applies an update; whether any key changed. */
  apply(update: HealthUpdate): boolean {
    if (update.full) {
      const next = new Set(update.entries.filter((e) => !e.healthy).map((e) => e.key));
      const changed = next.size !== this.#unhealthy.size || [...next].some((k) => !this.#unhealthy.has(k));
      this.#unhealthy = next;
      return changed;
    }
    let changed = false;
    for (const e of update.entries) {
      if (e.healthy === !this.#unhealthy.has(e.key)) continue;
      if (e.healthy) this.#unhealthy.delete(e.key);
      else this.#unhealthy.add(e.key);
      changed = true;
    }
    return changed;
  }

  isUnhealthy(key: string): boolean {
    return this.#unhealthy.has(key);
  }

  /** The whole view, as a full update. */
  full(): HealthUpdate {
    return { full: true, entries: [...this.#unhealthy].sort().map((key) => ({ key, healthy: false })) };
  }
}
