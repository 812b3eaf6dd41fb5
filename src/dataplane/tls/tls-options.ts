// TLS settings every HTTPS bind shares: what a production ingress offers by default.
import type { SecureContextOptions } from 'node:tls';

/**
 * TLS 1.2 is the floor (RFC 8996 deprecates 1.0 and 1.1); OpenSSL's default cipher list and
 * groups are kept, and with TLS 1.2 the server's cipher order wins (`honorCipherOrder`).
 */
export const TLS_CONTEXT_OPTIONS: Readonly<SecureContextOptions> = Object.freeze({
  minVersion: 'TLSv1.2',
  honorCipherOrder: true,
});

/** Only HTTP/1.1 is offered in ALPN: the proxy speaks no HTTP/2 to clients. */
export const ALPN_PROTOCOLS: readonly string[] = Object.freeze(['http/1.1']);

/**
 * The session id context of every secure context of every bind: sessions resumed across the
 * contexts the server name chooses must share it, or OpenSSL refuses to resume them.
 */
export const SESSION_ID_CONTEXT = 'waygate';
