// WebSocket backends and clients for the WebSocket tests: a real `ws` echo server behind a
// node:http server, and small promise wrappers around real clients.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';

export interface EchoServer {
  readonly port: number;
  readonly server: Server;
  /** The handshake requests received, in order. */
  readonly handshakes: { url: string; headers: IncomingMessage['headers'] }[];
  /** Close codes the server saw from clients. */
  readonly closes: number[];
  /** Connections open now. */
  open(): number;
  close(): Promise<void>;
}

/** Echoes every message (text as text, binary as binary), prefixed with `name:` for text. */
export async function startEchoServer(name: string): Promise<EchoServer> {
  const server = createServer((_req, res) => res.writeHead(426).end('websocket only\n'));
  const wss = new WebSocketServer({ server });
  const handshakes: EchoServer['handshakes'] = [];
  const closes: number[] = [];
  wss.on('connection', (ws, req) => {
    handshakes.push({ url: req.url ?? '', headers: req.headers });
    ws.on('message', (data, isBinary) => ws.send(isBinary ? data : `${name}:${String(data)}`, { binary: isBinary }));
    ws.on('close', (code) => closes.push(code));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port, server, handshakes, closes,
    open: () => wss.clients.size,
    close: () => new Promise((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** A `ws` client, resolved once open; rejects with the HTTP status when the handshake is refused. `servername` goes to tls.connect. */
export function openWs(url: string, options: WebSocket.ClientOptions & { servername?: string } = {}): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, options);
    // The 101's headers, kept on the client for the tests that read them.
    ws.once('upgrade', (res) => Object.assign(ws, { upgradeHeaders: res.headers }));
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d));
      res.on('end', () => reject(Object.assign(new Error(`handshake answered ${res.statusCode}`), { status: res.statusCode, body, headers: res.headers })));
      res.on('error', reject);
    });
    ws.once('error', reject);
  });
}

/** The next message of a `ws` client, as [data, isBinary]. */
export function nextMessage(ws: WebSocket): Promise<[Buffer, boolean]> {
  return new Promise((resolve, reject) => {
    const onClose = (): void => reject(new Error('closed before a message'));
    ws.once('message', (data, isBinary) => {
      ws.off('close', onClose);
      resolve([Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]), isBinary]);
    });
    ws.once('close', onClose);
  });
}

/** Sends `text` and resolves with the echo. */
export async function roundTrip(ws: WebSocket, text: string): Promise<string> {
  const next = nextMessage(ws);
  ws.send(text);
  return String((await next)[0]);
}

/** Resolves with the close code once the client's socket closed. */
export function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) return resolve(-1);
    ws.once('close', (code) => resolve(code));
  });
}
