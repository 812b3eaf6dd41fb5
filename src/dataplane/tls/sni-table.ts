// The TLS side of one HTTPS bind: the server name (SNI) chooses the listener by the rule the
// Host header follows (lookupHost: exact, then the longest wildcard, then the listener without
// hostname), then the listener's certificate for that name. Built at apply time from the IR.
import type { SecureContext } from 'node:tls';
import { buildHostTable, lookupHost, normalizeHost, type HostTable } from '../../compiler/index.ts';
import type { IRBind } from '../../ir/index.ts';
import { buildCertificateChoice, chooseCertificate, type CertificateChoice } from './certificate-choice.ts';
import type { LoadedCertificate } from './secure-contexts.ts';

export interface SniTable {
  readonly listeners: HostTable<CertificateChoice>;
  /**
   * Served to a client that sends no server name: the first certificate of the listener without
   * hostname. Without such a listener there is none, and such handshakes fail (spec choice:
   * /docs/conformance.md, "TLS without SNI").
   */
  readonly defaultCertificate: LoadedCertificate | undefined;
  /** Listeners' certificates that could not be served, by name, for the bind's report. */
  readonly errors: readonly string[];
}

export function buildSniTable(bind: IRBind, loaded: ReadonlyMap<string, LoadedCertificate>): SniTable {
  const errors: string[] = [];
  const entries = bind.listeners.map((listener) => {
    const certificates: LoadedCertificate[] = [];
    for (const name of listener.certificates ?? []) {
      const certificate = loaded.get(name);
      if (certificate === undefined) errors.push(`listener ${listener.name}: certificate ${name} is not in the configuration`);
      else if (!certificate.ok) errors.push(`listener ${listener.name}: ${certificate.error}`);
      else certificates.push(certificate);
    }
    if (certificates.length === 0) errors.push(`listener ${listener.name}: no certificate to serve; its handshakes fail`);
    return { hostname: listener.hostname, value: buildCertificateChoice(certificates) };
  });
  const listeners = buildHostTable(entries);
  return { listeners, defaultCertificate: listeners.any?.firstPem, errors };
}

/**
 * The secure context for a ClientHello's server name; undefined when no listener takes the
 * name (no hostname matches and there is no listener without hostname): the handshake fails.
 */
export function selectSecureContext(table: SniTable, serverName: string): SecureContext | undefined {
  const name = normalizeHost(serverName);
  const listener = lookupHost(table.listeners, name);
  return listener === undefined ? undefined : chooseCertificate(listener, name);
}
