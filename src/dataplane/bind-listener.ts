// One socket the workers bind (an IRBind): a node:http server whose connections start on the
// fast path (fast/), or for an HTTPS bind a node:https server that terminates TLS, handing
// requests to the proxy. Kept open across config versions for
// as long as the bind exists with the same protocol, drained when it goes.
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import type { IRBind } from '../ir/index.ts';
import type { ClientScheme } from './headers.ts';
import type { LiveConfig } from './live-config.ts';
import type { ProxyLimits } from './limits.ts';
import { FastConnection, type FastBind } from './fast/fast-connection.ts';
import { handleRequest, type ProxyContext } from './proxy.ts';
import { DeadlineSweep } from './upstream/sweep.ts';
import { answerMisdirected, hasBody, isMisdirected } from './tls/misdirected.ts';
import { selectSecureContext, type SniTable } from './tls/sni-table.ts';
import { ALPN_PROTOCOLS, SESSION_ID_CONTEXT, TLS_CONTEXT_OPTIONS } from './tls/tls-options.ts';
import { handleUpgrade, tunnelsUpgrade, type UpgradeBind } from './upgrade.ts';

export type BindProtocol = IRBind['protocol'];

export class BindListener implements UpgradeBind, FastBind {
  readonly name: string;
  readonly protocol: BindProtocol;
  /** X-Forwarded-Proto of the requests this bind takes. */
  readonly scheme: ClientScheme;
  readonly server: Server;
  pinned: LiveConfig | undefined = undefined;
  draining = false;
  /** Client sockets of open Upgrade tunnels (WebSocket): cut when a drain's grace ends. */
  readonly tunnels = new Set<Duplex>();
  /** Plain HTTP: connections served on the fast path (fast/), not (yet) by node's server. */
  readonly fastConnections = new Set<FastConnection>();
  readonly sweep: DeadlineSweep;
  readonly limits: ProxyLimits;
  readonly #ctx: ProxyContext;
  /** node's own handler of a new connection, which fast connections hand theirs to. */
  #nodeConnection: ((socket: Socket) => void) | undefined;
  #closed: Promise<void> | undefined;
  /** HTTPS: the server name → certificate table, swapped with the live config. */
  #sni: SniTable | undefined;
  /** HTTPS: what the default (no server name) context was last built from. */
  #defaultContext: SecureContext | undefined | null = null;
  #ticketKeys: Buffer | undefined;

  constructor(ctx: ProxyContext, name: string, limits: ProxyLimits, protocol: BindProtocol = 'HTTP') {
    this.name = name;
    this.protocol = protocol;
    this.scheme = protocol === 'HTTPS' ? 'https' : 'http';
    this.limits = limits;
    this.#ctx = ctx;
    this.sweep = new DeadlineSweep([limits.clientHeadersTimeoutMs, limits.clientKeepAliveTimeoutMs]);
    const http: ServerOptions = {
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.clientHeadersTimeoutMs,
      keepAliveTimeout: limits.clientKeepAliveTimeoutMs,
      // Long uploads and streams are bounded by the idle and body limits, not a total time.
      requestTimeout: 0,
      noDelay: true,
      // HTTP/1.1 Upgrade (WebSocket) handshakes become tunnels (upgrade.ts); other Upgrade requests are ordinary ones.
      shouldUpgradeCallback: tunnelsUpgrade,
    };
    if (protocol === 'HTTP') {
      this.server = createServer(http);
      this.server.on('request', (req, res) => handleRequest(ctx, this, req, res));
      this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(ctx, this, req, socket, head));
      // Connections start on the fast path; node's server takes one at its first request that is not plain.
      const nodeConnection = this.server.listeners('connection')[0] as (socket: Socket) => void;
      this.server.removeListener('connection', nodeConnection);
      this.#nodeConnection = nodeConnection;
      this.server.on('connection', (socket: Socket) => void new FastConnection(this, socket));
      return;
    }
    this.server = createHttpsServer({
      ...http,
      ...TLS_CONTEXT_OPTIONS,
      ALPNProtocols: [...ALPN_PROTOCOLS],
      SNICallback: (serverName, done) => {
        const context = this.#sni === undefined ? undefined : selectSecureContext(this.#sni, serverName);
        // No listener takes this name: fail the handshake rather than show another name's certificate.
        if (context === undefined) done(new Error(`no HTTPS listener of ${this.name} serves ${serverName}`));
        else done(null, context);
      },
      handshakeTimeout: limits.tlsHandshakeTimeoutMs,
      sessionTimeout: limits.tlsSessionTimeoutSeconds,
      sessionIdContext: SESSION_ID_CONTEXT,
    });
    this.server.on('request', (req, res) => this.#onSecureRequest(ctx, req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(ctx, this, req, socket, head));
  }

  /**
   * HTTPS: makes `sni` (and `ticketKeys`, when given) serve new handshakes. Connections already
   * established keep the certificate they were opened with, and go on working.
   */
  setTls(sni: SniTable, ticketKeys: Buffer): void {
    if (this.protocol !== 'HTTPS') return;
    this.#sni = sni;
    const server = this.server as unknown as import('node:tls').Server;
    const preferred = sni.defaultCertificate?.ok ? sni.defaultCertificate.context : undefined;
    if (preferred !== this.#defaultContext) {
      // The default context answers clients that send no server name; it also holds the ticket keys.
      const pem = sni.defaultCertificate;
      server.setSecureContext({
        ...TLS_CONTEXT_OPTIONS,
        ...(pem?.ok ? { cert: pem.certificate.certificatePem, key: pem.certificate.privateKeyPem } : {}),
        sessionIdContext: SESSION_ID_CONTEXT,
        sessionTimeout: this.limits.tlsSessionTimeoutSeconds,
      } as Parameters<typeof server.setSecureContext>[0]);
      this.#defaultContext = preferred;
      this.#ticketKeys = undefined;
    }
    if (this.#ticketKeys === undefined || !this.#ticketKeys.equals(ticketKeys)) {
      server.setTicketKeys(ticketKeys);
      this.#ticketKeys = ticketKeys;
    }
  }

  serve(req: IncomingMessage, res: ServerResponse): void {
    handleRequest(this.#ctx, this, req, res);
  }

  adopt(socket: Socket): void {
    this.#nodeConnection!.call(this.server, socket);
  }

  /** HTTPS: a request whose Host belongs to another listener than its server name gets 421. */
  #onSecureRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse): void {
    const table = (this.pinned ?? ctx.live)?.compiled.binds.get(this.name);
    if (table !== undefined && isMisdirected(table, req)) return answerMisdirected(res, this.draining || hasBody(req.rawHeaders));
    handleRequest(ctx, this, req, res);
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
      for (const conn of this.fastConnections) conn.closing = true;
      const closeIdle = (): void => {
        server.closeIdleConnections();
        for (const conn of this.fastConnections) conn.closeIdle();
      };
      const force = setTimeout(() => {
        server.closeAllConnections();
        for (const conn of this.fastConnections) conn.socket.destroy();
        // Tunnels are not the HTTP server's connections any more: they are cut here.
        for (const socket of this.tunnels) socket.destroy();
      }, graceMs);
      // Connections whose response was already under way become idle later: sweep them.
      const sweep = setInterval(closeIdle, 100);
      server.close(() => {
        clearTimeout(force);
        clearInterval(sweep);
        resolve();
      });
      closeIdle();
    });
    return this.#closed;
  }
}
