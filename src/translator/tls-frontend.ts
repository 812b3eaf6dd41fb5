// Gateway.spec.tls.frontend: client certificate validation (mutual TLS) of HTTPS listeners.
// Waygate does not validate client certificates yet. Serving a listener that asks for it
// without it would let in every client the user meant to keep out, so such a listener is not
// accepted: Waygate supports no kind of CA certificate reference, which the spec answers with
// ResolvedRefs=False InvalidCACertificateKind, and with every CA reference invalid, Accepted=False
// NoValidCACertificate ("If ALL CACertificateRefs are invalid").
import type { Gateway, Listener } from '../api/index.ts';
import { ListenerReason, type Problem } from './conditions.ts';
import { list } from './fields.ts';

export interface FrontendProblems {
  readonly rejected: Problem;
  readonly unresolved: Problem;
}

/** The problems of an HTTPS listener that spec.tls.frontend targets (default, or perPort for its port); undefined otherwise. */
export function frontendValidationProblems(gateway: Gateway, listener: Listener): FrontendProblems | undefined {
  const frontend = gateway.spec?.tls?.frontend;
  if (listener.protocol !== 'HTTPS' || !frontend || typeof frontend !== 'object') return undefined;
  const perPort = list(frontend.perPort).findIndex((p) => p?.port === listener.port);
  const field = perPort >= 0 ? `spec.tls.frontend.perPort[${perPort}].tls.validation` : 'spec.tls.frontend.default.validation';
  const validation = perPort >= 0 ? list(frontend.perPort)[perPort]?.tls?.validation : frontend.default?.validation;
  if (!validation) return undefined;
  const kinds = list(validation.caCertificateRefs).map((r) => `${r?.group || 'core'}/${r?.kind ?? ''} ${r?.name ?? ''}`);
  return {
    rejected: { reason: ListenerReason.NoValidCACertificate, message: `${field}: client certificate validation is not supported; the listener is not served rather than served without it` },
    unresolved: { reason: ListenerReason.InvalidCACertificateKind, message: `${field}.caCertificateRefs: no kind of CA certificate reference is supported (${kinds.join(', ') || 'none given'})` },
  };
}
