// Real node:http upstream servers for data plane tests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Upstream {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  /** Requests received so far. */
  readonly seen: { method: string; url: string; headers: IncomingMessage['headers']; rawHeaders: string[] }[];
  close(): Promise<void>;
  /**
   * As a pod does on SIGTERM: stops accepting connections, closes idle keep-alive connections
   * (and each one as soon as its request is answered), lets in-flight requests finish, and
   * resolves once every connection is gone (the process would exit).
   */
  drain(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Answers `<name>\n` with header `x-upstream: <name>` unless a handler is given. */
export async function startUpstream(name: string, handler?: UpstreamHandler): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders });
    if (handler !== undefined) return handler(req, res);
    req.resume();
    req.on('end', () => {
      res.setHeader('x-upstream', name);
      res.end(`${name}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name, port, server, seen,
    close: () => new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
    drain: () => new Promise((resolve) => {
      const sweep = setInterval(() => server.closeIdleConnections(), 2);
      server.close(() => {
        clearInterval(sweep);
        resolve();
      });
      server.closeIdleConnections();
    }),
  };
}
