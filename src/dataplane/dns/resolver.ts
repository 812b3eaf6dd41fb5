// DNS backends (ExternalName Services): the addresses of a name, re-resolved when their TTL
// runs out, off the request path. Resolution is injected so that tests answer from a fake.
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';

/** One A or AAAA record. */
export interface DnsRecord {
  readonly address: string;
  /** Seconds. */
  readonly ttl: number;
}

/** Every A and AAAA record of a name; rejects when there is none or the lookup fails. */
export type ResolveFn = (hostname: string) => Promise<readonly DnsRecord[]>;

/**
 * `resolve4` and `resolve6` with `{ ttl: true }` on `resolver` (default: the system's servers).
 * An IP address resolves to itself. A name with only one family is answered; both failing rejects
 * with the A lookup's error.
 */
export function systemResolve(resolver: Resolver = new Resolver()): ResolveFn {
  return async (hostname) => {
    if (isIP(hostname) !== 0) return [{ address: hostname, ttl: Number.POSITIVE_INFINITY }];
    const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname, { ttl: true }), resolver.resolve6(hostname, { ttl: true })]);
    const records: DnsRecord[] = [];
    if (v4.status === 'fulfilled') records.push(...v4.value);
    if (v6.status === 'fulfilled') records.push(...v6.value);
    if (records.length === 0) throw v4.status === 'rejected' ? v4.reason : new Error(`${hostname}: no A or AAAA records`);
    return records;
  };
}

export interface DnsWatchOptions {
  readonly resolve?: ResolveFn;
  /** The least time between resolutions, in ms; default 1000. */
  readonly minTtlMs?: number;
  /** The most; default 300000. */
  readonly maxTtlMs?: number;
  /** First retry after a failure, doubled per failure up to maxTtlMs; default 1000. */
  readonly retryMs?: number;
}

/**
 * The addresses of one name: resolved at once and again when the smallest TTL of the answer runs
 * out (clamped to minTtlMs..maxTtlMs). A failure keeps the last good answer and retries with
 * exponential backoff. `onChange` runs when the set of addresses changes (sorted, deduplicated).
 */
export class DnsWatch {
  readonly hostname: string;
  /** The last good answer, sorted; empty before the first. */
  addresses: readonly string[] = [];
  /** The error of the last resolution when it failed, else undefined. */
  error: unknown = undefined;
  /** Settles when the first resolution settles, either way. */
  readonly first: Promise<void>;
  readonly #resolve: ResolveFn;
  readonly #min: number;
  readonly #max: number;
  readonly #retry: number;
  readonly #onChange: (addresses: readonly string[]) => void;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined = undefined;
  #closed = false;
  #settleFirst!: () => void;

  constructor(hostname: string, onChange: (addresses: readonly string[]) => void, options: DnsWatchOptions = {}) {
    this.hostname = hostname;
    this.#onChange = onChange;
    this.#resolve = options.resolve ?? systemResolve();
    this.#min = options.minTtlMs ?? 1000;
    this.#max = options.maxTtlMs ?? 300_000;
    this.#retry = options.retryMs ?? 1000;
    this.first = new Promise((settle) => { this.#settleFirst = settle; });
    void this.#run();
  }

  /** Whether the first resolution settled. */
  settled = false;

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#settleFirst();
  }

  async #run(): Promise<void> {
    let delay: number;
    try {
      const records = await this.#resolve(this.hostname);
      if (this.#closed) return;
      this.error = undefined;
      this.#failures = 0;
      let ttl = Number.POSITIVE_INFINITY;
      for (const r of records) ttl = Math.min(ttl, r.ttl * 1000);
      delay = Math.min(this.#max, Math.max(this.#min, ttl));
      const next = [...new Set(records.map((r) => r.address))].sort();
      if (String(next) !== String(this.addresses)) {
        this.addresses = next;
        this.#onChange(next);
      }
    } catch (error) {
      if (this.#closed) return;
      this.error = error;
      delay = Math.min(this.#max, this.#retry * 2 ** this.#failures++);
    }
    this.settled = true;
    this.#settleFirst();
    this.#timer = setTimeout(() => void this.#run(), delay);
    this.#timer.unref();
  }
}
