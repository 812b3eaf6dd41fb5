// The DNS watches of one worker: one DnsWatch per hostname and port, shared by every backend
// (route, config version) that names them, stopped when the last of those lets go.
import { hostPort } from '../../util/index.ts';
import { DnsWatch, type DnsWatchOptions } from './resolver.ts';

/** A backend fed by a watch: told every changed answer (sorted, deduplicated addresses). */
export interface DnsSubscriber {
  dnsChanged(addresses: readonly string[]): void;
}

interface Target {
  readonly watch: DnsWatch;
  readonly subscribers: Set<DnsSubscriber>;
}

export class DnsWatches {
  readonly #targets = new Map<string, Target>();
  readonly #options: DnsWatchOptions;
  readonly #afterChange: () => void;

  /** `afterChange` runs once every subscriber took a changed answer (e.g. to release unused pools). */
  constructor(options: DnsWatchOptions = {}, afterChange: () => void = () => {}) {
    this.#options = options;
    this.#afterChange = afterChange;
  }

  /** The watch of `hostname` at `port`, started on first use; `subscriber` gets its changes. */
  subscribe(hostname: string, port: number, subscriber: DnsSubscriber): DnsWatch {
    const key = hostPort(hostname, port);
    let target = this.#targets.get(key);
    if (target === undefined) {
      const subscribers = new Set<DnsSubscriber>();
      const watch = new DnsWatch(hostname, (addresses) => {
        for (const s of subscribers) s.dnsChanged(addresses);
        this.#afterChange();
      }, this.#options);
      target = { watch, subscribers };
      this.#targets.set(key, target);
    }
    target.subscribers.add(subscriber);
    return target.watch;
  }

  /** `subscriber` no longer uses the watch; the last one to go stops it. */
  unsubscribe(hostname: string, port: number, subscriber: DnsSubscriber): void {
    const key = hostPort(hostname, port);
    const target = this.#targets.get(key);
    if (target === undefined || !target.subscribers.delete(subscriber) || target.subscribers.size > 0) return;
    this.#targets.delete(key);
    target.watch.close();
  }

  /** `hostname:port` of every running watch, sorted. */
  keys(): string[] {
    return [...this.#targets.keys()].sort();
  }

  close(): void {
    for (const target of this.#targets.values()) target.watch.close();
    this.#targets.clear();
  }
}
