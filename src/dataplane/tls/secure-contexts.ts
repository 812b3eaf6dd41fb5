// Secure contexts of the certificates HTTPS binds serve, built off the request path once per
// certificate content and reused by every bind and config version while the content is unchanged.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { IRCertificate } from '../../ir/index.ts';
import { SESSION_ID_CONTEXT, TLS_CONTEXT_OPTIONS } from './tls-options.ts';

/** A certificate ready to serve, or why it cannot be served. */
export type LoadedCertificate =
  | { readonly ok: true; readonly certificate: IRCertificate; readonly context: SecureContext }
  | { readonly ok: false; readonly certificate: IRCertificate; readonly error: string };

export class SecureContexts {
  /** By content key (hash of the PEM certificate and key). */
  #byContent = new Map<string, LoadedCertificate>();
  /** IR objects are never mutated: a certificate object seen before is not hashed again. */
  readonly #keys = new WeakMap<IRCertificate, string>();

  /**
   * The loaded certificates of one IR by name, and nothing else kept: a rotated certificate's
   * old context is dropped (connections that use it keep it alive as long as they need it).
   */
  load(certificates: readonly IRCertificate[]): Map<string, LoadedCertificate> {
    const next = new Map<string, LoadedCertificate>();
    const byName = new Map<string, LoadedCertificate>();
    for (const certificate of certificates) {
      const key = this.#keyOf(certificate);
      const loaded = next.get(key) ?? this.#byContent.get(key) ?? loadCertificate(certificate);
      next.set(key, loaded);
      byName.set(certificate.name, loaded.certificate === certificate ? loaded : { ...loaded, certificate });
    }
    this.#byContent = next;
    return byName;
  }

  /** How many distinct certificate contents are held. */
  get size(): number {
    return this.#byContent.size;
  }

  #keyOf(certificate: IRCertificate): string {
    let key = this.#keys.get(certificate);
    if (key === undefined) {
      key = createHash('sha256').update(certificate.certificatePem).update('\0').update(certificate.privateKeyPem).digest('base64');
      this.#keys.set(certificate, key);
    }
    return key;
  }
}

function loadCertificate(certificate: IRCertificate): LoadedCertificate {
  try {
    // OpenSSL keeps an RSA and an EC key side by side instead of refusing the one that does not fit.
    if (!new X509Certificate(certificate.certificatePem).checkPrivateKey(createPrivateKey(certificate.privateKeyPem))) {
      throw new Error('the private key does not belong to the certificate');
    }
    const context = createSecureContext({
      ...TLS_CONTEXT_OPTIONS,
      cert: certificate.certificatePem,
      key: certificate.privateKeyPem,
      sessionIdContext: SESSION_ID_CONTEXT,
    } as Parameters<typeof createSecureContext>[0]);
    return { ok: true, certificate, context };
  } catch (err) {
    // The translator checked the Secret; this is OpenSSL refusing it anyway (e.g. key mismatch).
    return { ok: false, certificate, error: `certificate ${certificate.name}: ${(err as Error).message}` };
  }
}
