// One socket the workers bind (an IRBind): a node:http server that hands requests to the proxy,
// kept open across config versions for as long as the bind exists, drained when it goes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LiveConfig } from './live-config.ts';
import type { ProxyLimits } from './limits.ts';
import { handleRequest, type BindRef, type ProxyContext } from './proxy.ts';

export class BindListener implements BindRef {
  readonly name: string;
  readonly server: Server;
  pinned: LiveConfig | undefined = undefined;
  draining = false;
  #closed: Promise<void> | undefined;

  constructor(ctx: ProxyContext, name: string, limits: ProxyLimits) {
    this.name = name;
    this.server = createServer({
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.clientHeadersTimeoutMs,
      keepAliveTimeout: limits.clientKeepAliveTimeoutMs,
      // Long uploads and streams are bounded by the idle and body limits, not a total time.
      requestTimeout: 0,
      noDelay: true,
    });
    this.server.on('request', (req, res) => handleRequest(ctx, this, req, res));
  }

  /** Opens the socket; rejects with the listen error (e.g. EADDRINUSE). */
  listen(address: string, port: number, reusePort: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host: address, port, reusePort }, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
  }

  get port(): number {
    const address = this.server.address() as AddressInfo | null;
    return address?.port ?? 0;
  }

  /**
   * Stops accepting, lets in-flight requests finish on `config`, answers further keep-alive
   * requests with `Connection: close`, closes idle connections, and cuts what is left after
   * `graceMs`. Resolves when every connection is gone.
   */
  drain(config: LiveConfig | undefined, graceMs: number): Promise<void> {
    if (this.#closed !== undefined) return this.#closed;
    this.pinned = config;
    this.draining = true;
    const server = this.server;
    this.#closed = new Promise((resolve) => {
      const force = setTimeout(() => server.closeAllConnections(), graceMs);
      // Connections whose response was already under way become idle later: sweep them.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      server.close(() => {
        clearTimeout(force);
        clearInterval(sweep);
        resolve();
      });
      server.closeIdleConnections();
    });
    return this.#closed;
  }
}
