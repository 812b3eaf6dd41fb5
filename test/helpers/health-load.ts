// Load, waiting and channel recording for the health and outlier tests.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Pool } from 'undici';

export interface Load {
  /** Answers by status. */
  readonly statuses: Map<number, number>;
  /** Requests that got no answer (connection errors, timeouts). */
  readonly errors: string[];
  readonly sent: () => number;
  stop(): Promise<void>;
}

/** `connections` keep-alive clients sending GET requests one after another until stopped or `max` were sent. */
export function startLoad(port: number, connections: number, max = Infinity, path = '/'): Load {
  const client = new Pool(`http://127.0.0.1:${port}`, { connections, pipelining: 1 });
  let stopped = false;
  let sent = 0;
  const statuses = new Map<number, number>();
  const errors: string[] = [];
  const loop = async (): Promise<void> => {
    while (!stopped && sent < max) {
      sent++;
      try {
        const res = await client.request({ path, method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
        await res.body.text();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  };
  const loops = Array.from({ length: connections }, loop);
  return {
    statuses, errors,
    sent: () => sent,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      await client.close();
    },
  };
}

/** Requests that got an answer or an error. */
export function answered(load: Load): number {
  let n = load.errors.length;
  for (const count of load.statuses.values()) n += count;
  return n;
}

export async function until(what: string, done: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Every message published on a diagnostics channel, until stop(). `onMessage` runs as each arrives. */
export function record<T>(channelName: string, onMessage?: (m: T) => void): { events: T[]; stop(): void } {
  const events: T[] = [];
  const listener = (m: unknown): void => {
    events.push(m as T);
    onMessage?.(m as T);
  };
  subscribe(channelName, listener);
  return { events, stop: () => unsubscribe(channelName, listener) };
}
