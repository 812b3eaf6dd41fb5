// One pool per endpoint `address:port`, shared by every config version that uses it.
// A pool is closed gracefully (in-flight requests finish) once the live config stops using it.
import { hostPort } from '../util/index.ts';
import type { ProxyLimits } from './limits.ts';
import { EndpointPool, poolTimeouts } from './upstream/pool.ts';
import { DeadlineSweep } from './upstream/sweep.ts';
import type { PoolOptions } from './upstream/types.ts';

export class UpstreamPools {
  readonly #pools = new Map<string, EndpointPool>();
  readonly #options: PoolOptions;
  /** One timer checks the deadlines of every upstream connection of the data plane. */
  readonly #sweep: DeadlineSweep;

  constructor(limits: ProxyLimits) {
    this.#options = {
      connectTimeoutMs: limits.upstreamConnectTimeoutMs,
      headersTimeoutMs: limits.upstreamHeadersTimeoutMs,
      bodyTimeoutMs: limits.upstreamBodyIdleTimeoutMs,
      keepAliveTimeoutMs: limits.upstreamKeepAliveTimeoutMs,
    };
    this.#sweep = new DeadlineSweep(poolTimeouts(this.#options));
  }

  /** The shared pool for an endpoint, created on first use. */
  acquire(address: string, port: number): EndpointPool {
    const key = endpointKey(address, port);
    let pool = this.#pools.get(key);
    if (pool === undefined || pool.closed || pool.destroyed) {
      pool = this.#create(address, port);
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /**
   * A one-off pool for a request that runs on an older config whose pool was already closed
   * (a retry or a draining bind); it closes itself once that request is done.
   */
  transient(key: string): EndpointPool {
    const pool = this.#pools.get(key);
    if (pool !== undefined && !pool.closed && !pool.destroyed) return pool;
    const { address, port } = endpointAddress(key);
    const fresh = this.#create(address, port);
    queueMicrotask(() => void fresh.close());
    return fresh;
  }

  /** Closes gracefully every pool whose key is not in `keep`. */
  release(keep: ReadonlySet<string>): Promise<void>[] {
    const closing: Promise<void>[] = [];
    for (const [key, pool] of this.#pools) {
      if (keep.has(key)) continue;
      this.#pools.delete(key);
      closing.push(pool.close().catch(() => undefined));
    }
    return closing;
  }

  keys(): string[] {
    return [...this.#pools.keys()].sort();
  }

  #create(address: string, port: number): EndpointPool {
    return new EndpointPool(address, port, this.#options, this.#sweep);
  }
}

/** The key of an endpoint's shared pool. */
export function endpointKey(address: string, port: number): string {
  return hostPort(address, port);
}

/** The address (IPv6 without brackets) and port an endpoint key names. */
export function endpointAddress(key: string): { readonly address: string; readonly port: number } {
  const colon = key.lastIndexOf(':');
  const host = key.slice(0, colon);
  return { address: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(key.slice(colon + 1)) };
}
