// HTTPS binds in data plane tests: IR builders for certificates and HTTPS listeners, and a
// real node:https client that says which certificate the server presented.
import { request, type Agent, type RequestOptions } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { connect, type TLSSocket } from 'node:tls';
import type { IRBind, IRCertificate, IRHttpListener, IRRoute } from '../../src/ir/index.ts';
import type { TestCertificate } from './certificates.ts';

/** An IRCertificate for `cert`, valid for `hostnames` (as the translator reads them from the certificate). */
export function irCertificate(name: string, cert: TestCertificate, hostnames: readonly string[]): IRCertificate {
  return { name: `secret/default/${name}`, certificatePem: cert.certPem, privateKeyPem: cert.keyPem, hostnames: [...hostnames].sort() };
}

export function httpsBind(port: number, listeners: IRHttpListener[]): IRBind {
  return { name: `127.0.0.1:${port}`, address: '127.0.0.1', port, protocol: 'HTTPS', listeners };
}

/** An HTTPS listener with one catch-all virtual host serving `routes`. */
export function httpsListener(name: string, routes: IRRoute[], hostname: string | undefined, certificates: readonly IRCertificate[]): IRHttpListener {
  return { name, hostname, port: 443, certificates: certificates.map((c) => c.name), virtualHosts: [{ hostname: hostname ?? '*', routes }] };
}

/** SHA-256 fingerprint, as `getPeerCertificate().fingerprint256` spells it. */
export function fingerprint(cert: TestCertificate): string {
  return new X509Certificate(cert.certPem).fingerprint256;
}

export interface HttpsAnswer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Fingerprint of the certificate the server presented on this request's connection. */
  readonly certificate: string;
  readonly alpn: string | false | null;
  readonly socket: TLSSocket;
}

export interface HttpsGet {
  readonly port: number;
  readonly ca: string;
  /** TLS server name; absent or '' sends none (an IP address as host sends none either). */
  readonly servername?: string;
  /** Host header; default the server name. */
  readonly host?: string;
  readonly path?: string;
  readonly agent?: Agent | false;
  readonly headers?: Record<string, string>;
}

export function httpsGet(o: HttpsGet): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const options: RequestOptions & { ALPNProtocols: string[] } = {
      host: '127.0.0.1', port: o.port, path: o.path ?? '/', ca: o.ca, agent: o.agent ?? false,
      servername: o.servername ?? '',
      // A client that speaks both: the proxy must choose http/1.1.
      ALPNProtocols: ['h2', 'http/1.1'],
      headers: { host: o.host ?? o.servername ?? 'localhost', ...o.headers },
      // Which certificate was served is the question; the name check is the test's own.
      checkServerIdentity: () => undefined,
    };
    const req = request(options, (res) => {
      const socket = res.socket as TLSSocket;
      const certificate = socket.getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, certificate, alpn: socket.alpnProtocol, socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** One TLS connection on which requests are written by hand, one at a time (keep-alive). */
export async function openTls(port: number, servername: string, ca: string): Promise<{ socket: TLSSocket; get(host: string): Promise<{ status: number; body: string }> }> {
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    // Without a server name there is no name to check; the chain still is.
    const identity = servername === '' ? { checkServerIdentity: () => undefined } : {};
    const s = connect({ host: '127.0.0.1', port, servername, ca, ...identity }, () => resolve(s));
    s.once('error', reject);
  });
  let buffered = '';
  let waiting: (() => void) | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    waiting?.();
  });
  socket.on('close', () => waiting?.());
  const response = async (): Promise<{ status: number; body: string }> => {
    for (;;) {
      const end = buffered.indexOf('\r\n\r\n');
      const length = end < 0 ? -1 : Number(/content-length: *(\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
      if (end >= 0 && buffered.length >= end + 4 + length) {
        const status = Number(buffered.slice(9, 12));
        const body = buffered.slice(end + 4, end + 4 + length);
        buffered = buffered.slice(end + 4 + length);
        return { status, body };
      }
      if (socket.destroyed) throw new Error('connection closed');
      await new Promise<void>((resolve) => (waiting = resolve));
    }
  };
  return {
    socket,
    get: (host) => {
      socket.write(`GET / HTTP/1.1\r\nhost: ${host}\r\n\r\n`);
      return response();
    },
  };
}
