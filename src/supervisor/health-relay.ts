// The supervisor's copy of the node's health view: it relays every health envelope from the
// controller to the workers, and a worker (or controller) that starts later gets the whole view.
import type { HealthEnvelope } from './messages.ts';

export class HealthRelay {
  #unhealthy = new Set<string>();
  #heard = false;

  /** Takes an envelope from the controller. */
  apply(m: HealthEnvelope): void {
    this.#heard = true;
    if (m.full) this.#unhealthy = new Set();
    for (const e of m.entries) {
      if (e.healthy) this.#unhealthy.delete(e.key);
      else this.#unhealthy.add(e.key);
    }
  }

  /** The whole view, for a process that starts; undefined until the controller sent one. */
  full(): HealthEnvelope | undefined {
    if (!this.#heard) return undefined;
    return { type: 'health', full: true, entries: [...this.#unhealthy].sort().map((key) => ({ key, healthy: false })) };
  }
}
