// The certificate of one HTTPS listener for a TLS server name: exact, then wildcard, else the first.
import type { SecureContext } from 'node:tls';
import type { LoadedCertificate } from './secure-contexts.ts';

/** A listener's certificates (`IRHttpListener.certificates`, in certificateRefs order) by the names they are valid for. */
export interface CertificateChoice {
  readonly exact: ReadonlyMap<string, SecureContext>;
  /** `*.example.com` entries, keyed by their suffix `.example.com`. */
  readonly wildcard: ReadonlyMap<string, SecureContext>;
  /** The first certificate that loaded: served when no name matches, and without SNI. */
  readonly first: SecureContext | undefined;
  readonly firstPem: LoadedCertificate | undefined;
}

/** Earlier certificates win a name two of them hold. Certificates that failed to load are left out. */
export function buildCertificateChoice(certificates: readonly LoadedCertificate[]): CertificateChoice {
  const exact = new Map<string, SecureContext>();
  const wildcard = new Map<string, SecureContext>();
  let first: LoadedCertificate | undefined;
  for (const loaded of certificates) {
    if (!loaded.ok) continue;
    first ??= loaded;
    for (const name of loaded.certificate.hostnames) {
      const map = name.startsWith('*.') ? wildcard : exact;
      const key = name.startsWith('*.') ? name.slice(1) : name;
      if (!map.has(key)) map.set(key, loaded.context);
    }
  }
  return { exact, wildcard, first: first?.ok ? first.context : undefined, firstPem: first };
}

/**
 * A wildcard covers exactly one label (RFC 6125 §6.4.3): `*.example.com` matches
 * `a.example.com`, not `a.b.example.com` nor `example.com`, as TLS clients check it.
 */
export function chooseCertificate(choice: CertificateChoice, serverName: string): SecureContext | undefined {
  if (serverName === '') return choice.first;
  const exact = choice.exact.get(serverName);
  if (exact !== undefined) return exact;
  const dot = serverName.indexOf('.');
  const wildcard = dot > 0 ? choice.wildcard.get(serverName.slice(dot)) : undefined;
  return wildcard ?? choice.first;
}
