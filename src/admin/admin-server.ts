// The admin API. Listens on loopback unless told otherwise. Read-only views of the rooms.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from '../observability/index.ts';
import { redactSecrets } from './redact.ts';

/** What the admin API reads; the composition root wires it to the controller and providers. */
export interface AdminSource {
  ready(): { ready: boolean; reason: string };
  statuses(): unknown[];
  config(): { version: string; ir: unknown } | undefined;
  problems(): unknown[];
}

export interface AdminOptions {
  readonly address: string;
  readonly source: AdminSource;
  readonly logger: Logger;
}

export async function startAdminServer(options: AdminOptions): Promise<Server> {
  const server = createServer((req, res) => handle(options.source, req, res));
  await listen(server, options.address);
  options.logger.info({ address: options.address }, 'admin API listening');
  return server;
}

/**
 * Probes only: `/healthz` and `/readyz`, for a kubelet that must reach the pod's address while
 * the admin API itself stays on loopback.
 */
export async function startHealthServer(options: { address: string; ready: AdminSource['ready']; logger: Logger }): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    if (path === '/healthz') return sendText(res, 200, 'ok\n');
    if (path === '/readyz') {
      const r = options.ready();
      return sendText(res, r.ready ? 200 : 503, `${r.reason}\n`);
    }
    return send(res, 404, { error: `no such endpoint ${path}: this address serves /healthz and /readyz only` });
  });
  await listen(server, options.address);
  options.logger.info({ address: options.address }, 'health probes listening');
  return server;
}

async function listen(server: Server, address: string): Promise<void> {
  const { host, port } = parseHostPort(address);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen({ host, port }, () => {
      server.off('error', fail);
      ok();
    });
  });
}

function handle(source: AdminSource, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
  const path = (req.url ?? '/').split('?')[0];
  switch (path) {
    case '/healthz':
      return sendText(res, 200, 'ok\n');
    case '/readyz': {
      const r = source.ready();
      return sendText(res, r.ready ? 200 : 503, `${r.reason}\n`);
    }
    case '/api/status':
      return send(res, 200, source.statuses());
    case '/api/config': {
      const c = source.config();
      return c ? send(res, 200, redactSecrets(c)) : send(res, 503, { error: 'no configuration built yet' });
    }
    case '/api/problems':
      return send(res, 200, source.problems());
    default:
      return send(res, 404, { error: `no such endpoint ${path}` });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** `127.0.0.1:9901`, `[::1]:9901`, `:9901` (loopback). */
export function parseHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new Error(`CFG_ERR_ADDRESS "${address}": expected host:port, e.g. 127.0.0.1:9901`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`CFG_ERR_ADDRESS "${address}": port out of range`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}
