// The hot path of HTTPS binds: a request whose Host selects another listener than the TLS server
// name did is misdirected. Listener `hostname` (Gateway API): "Gateways SHOULD match the
// authority of the requests with all the SNI hostname(s) configured across all the Gateway
// Listeners on the same port and protocol", answering 421 when another listener matches the Host
// (exactly or by a more specific wildcard), and 404 when no listener does (RFC 9110 §15.5.20).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { lookupHost, normalizeHost, type CompiledBind } from '../../compiler/index.ts';

/**
 * Whether the request must be answered 421: the listener its Host selects is not the one its
 * TLS server name selects. A Host no listener matches is left to routing, which answers 404.
 * Without SNI the connection belongs to the listener without hostname (the only one that could
 * have served its handshake).
 */
export function isMisdirected(bind: CompiledBind, req: IncomingMessage): boolean {
  // One listener: the server name chose it (or the handshake failed), and a Host it does not take is routing's 404.
  const listeners = bind.listeners;
  if (listeners.exact.size + listeners.wildcard.size + (listeners.any === undefined ? 0 : 1) < 2) return false;
  const byHost = lookupHost(bind.listeners, normalizeHost(hostOf(req.rawHeaders)));
  if (byHost === undefined) return false;
  const serverName = (req.socket as TLSSocket).servername;
  const bySni = lookupHost(bind.listeners, typeof serverName === 'string' ? normalizeHost(serverName) : '');
  return byHost !== bySni;
}

/** The Host header, read from the raw headers without building `req.headers`. */
function hostOf(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 4 && name.toLowerCase() === 'host') return raw[i + 1];
  }
  return undefined;
}

/** A body follows the head: it is not read, so the connection cannot carry another request. */
export function hasBody(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (name === 'transfer-encoding') return true;
    if (name === 'content-length' && raw[i + 1].trim() !== '0') return true;
  }
  return false;
}

const BODY = 'misdirected request: the TLS server name does not serve this host\n';

/**
 * 421 Misdirected Request. The connection stays open when no body is left unread: a client may
 * go on with other hosts of the same listener, and opens a new connection for this one.
 */
export function answerMisdirected(res: ServerResponse, close: boolean): void {
  const headers = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(BODY))];
  if (close) headers.push('connection', 'close');
  res.writeHead(421, headers);
  res.end(BODY);
}
