// One DataPlane serving hand-written IR on a free loopback port, with an undici client.
import { Pool } from 'undici';
import { DataPlane } from '../../src/dataplane/index.ts';
import type { IRBackend, IRHttpListener } from '../../src/ir/index.ts';
import { bind, ir } from './ir.ts';
import { freePort } from './ports.ts';

export interface ProxyFixture {
  readonly port: number;
  readonly dp: DataPlane;
  readonly client: Pool;
  request(path: string, options?: { method?: string; headers?: Record<string, string | string[]>; body?: string }): Promise<Answer>;
  close(): Promise<void>;
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export async function startProxy(listeners: IRHttpListener[], backends: IRBackend[]): Promise<ProxyFixture> {
  const port = await freePort();
  const dp = new DataPlane({});
  const result = await dp.apply('v1', ir([bind(port, listeners)], backends));
  const error = result.binds.find((b) => b.error !== undefined);
  if (error !== undefined) throw new Error(`bind failed: ${error.error}`);
  const client = new Pool(`http://127.0.0.1:${port}`);
  return {
    port, dp, client,
    async request(path, options = {}) {
      const res = await client.request({ path, method: options.method ?? 'GET', headers: options.headers, body: options.body });
      return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
    },
    async close() {
      await client.close();
      await dp.close(1000);
    },
  };
}
