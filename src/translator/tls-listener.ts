// HTTPS listeners: Listener.tls (mode Terminate, certificateRefs to `kubernetes.io/tls` Secrets,
// options) becomes the listener's certificates. Each ref is checked on its own, so one bad
// Secret never takes down the listener's other certificates, nor other listeners.
// Spec choices (the spec only says ResolvedRefs is False when a ref is invalid): with some refs
// valid the listener stays Accepted and Programmed with those, as a route keeps its valid
// backendRefs; with none valid it stays Accepted (no Accepted reason covers certificates) but is
// Programmed=False Invalid. Several invalid refs: the first one's reason, every one's message.
// Expiry is not checked (no clock here), nor whether a certificate covers the listener hostname.
import { GATEWAY_API_GROUP, type Listener, type Secret, type SecretObjectReference } from '../api/index.ts';
import type { IRCertificate } from '../ir/index.ts';
import { decodeBase64, parseTlsKeyPair, type TlsKeyPairResult } from '../util/index.ts';
import { ListenerReason, type Problem } from './conditions.ts';
import { keyOf, type TranslationContext } from './context.ts';
import { isReferenceGranted } from './reference-grants.ts';

export interface ListenerTls {
  /** The valid certificates, in certificateRefs order, each once. */
  readonly certificates: readonly IRCertificate[];
  /** Accepted=False: tls breaks the CRD's rules (a mode other than Terminate). */
  readonly rejected?: Problem;
  /** ResolvedRefs=False: at least one certificateRef is invalid or not permitted. */
  readonly unresolved?: Problem;
  /** Programmed=False: nothing to serve TLS with. */
  readonly notProgrammed?: Problem;
  /** Added to the Accepted message: what was ignored. */
  readonly note?: string;
}

const TLS_SECRET_TYPE = 'kubernetes.io/tls';

export function resolveListenerTls(ctx: TranslationContext, gatewayNamespace: string, spec: Listener, field: string): ListenerTls {
  const tls = spec.tls;
  if (tls === undefined || tls === null) return noCertificates(`${field}.tls is required for protocol HTTPS`);
  if (typeof tls !== 'object') return { certificates: [], rejected: { reason: ListenerReason.Invalid, message: `${field}.tls must be an object` } };
  const mode = tls.mode ?? 'Terminate';
  if (mode !== 'Terminate') {
    // The CRD forbids Passthrough on HTTPS ("tls mode must be Terminate for protocol HTTPS").
    return { certificates: [], rejected: { reason: ListenerReason.Invalid, message: `${field}.tls.mode: ${JSON.stringify(mode)} is not allowed with protocol HTTPS; HTTPS terminates TLS (mode Terminate)` } };
  }
  const refs = Array.isArray(tls.certificateRefs) ? tls.certificateRefs : [];
  const note = ignoredOptionsNote(tls.options, field);
  if (refs.length === 0) return { ...noCertificates(`${field}.tls.certificateRefs must name at least one certificate when the mode is Terminate`), ...note };
  const certificates = new Map<string, IRCertificate>();
  const problems: Problem[] = [];
  refs.forEach((ref, i) => {
    const result = resolveCertificateRef(ctx, gatewayNamespace, ref, `${field}.tls.certificateRefs[${i}]`);
    if ('problem' in result) problems.push(result.problem);
    else if (!certificates.has(result.certificate.name)) certificates.set(result.certificate.name, result.certificate);
  });
  return {
    certificates: [...certificates.values()],
    ...(problems.length > 0 ? { unresolved: combineProblems(problems) } : {}),
    ...(certificates.size === 0 ? { notProgrammed: { reason: ListenerReason.Invalid, message: `Not programmed: no valid certificate in ${field}.tls.certificateRefs` } } : {}),
    ...note,
  };
}

function noCertificates(message: string): ListenerTls {
  return { certificates: [], notProgrammed: { reason: ListenerReason.InvalidTLSConfig, message } };
}

/**
 * Listener.tls.options: Waygate defines no option; un-prefixed keys are reserved for the Gateway
 * API and none is defined in v1.6. The spec gives no condition for an unknown key, so each is
 * ignored and named in the Accepted message.
 */
function ignoredOptionsNote(options: unknown, field: string): { note?: string } {
  if (options === null || typeof options !== 'object') return {};
  const keys = Object.keys(options).sort();
  return keys.length > 0 ? { note: `${field}.tls.options ignored (none is supported): ${keys.join(', ')}` } : {};
}

/** Several invalid refs: the first one's reason, every one's message. */
function combineProblems(problems: readonly Problem[]): Problem {
  return { reason: problems[0].reason, message: problems.map((p) => p.message).join('; ') };
}

type RefResult = { readonly certificate: IRCertificate } | { readonly problem: Problem };

function resolveCertificateRef(ctx: TranslationContext, gatewayNamespace: string, ref: SecretObjectReference, field: string): RefResult {
  const invalid = (message: string): RefResult => ({ problem: { reason: ListenerReason.InvalidCertificateRef, message: `${field}: ${message}` } });
  if (!ref || typeof ref !== 'object' || typeof ref.name !== 'string' || ref.name === '') return invalid('name is required');
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Secret';
  if (group !== '' || kind !== 'Secret') return invalid(`${group === '' ? 'core' : group}/${kind} is not supported; certificateRefs must be core Secrets`);
  const namespace = typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : gatewayNamespace;
  const granted = isReferenceGranted(ctx, {
    fromGroup: GATEWAY_API_GROUP, fromKind: 'Gateway', fromNamespace: gatewayNamespace,
    toGroup: '', toKind: 'Secret', toNamespace: namespace, toName: ref.name,
  });
  if (!granted) {
    return { problem: { reason: ListenerReason.RefNotPermitted, message: `${field}: Secret ${namespace}/${ref.name} is in another namespace and no ReferenceGrant there allows this Gateway to use it` } };
  }
  const secret = ctx.secrets.get(keyOf(namespace, ref.name));
  if (!secret) return invalid(`Secret ${namespace}/${ref.name} not found`);
  if (secret.type !== TLS_SECRET_TYPE) return invalid(`Secret ${namespace}/${ref.name} is of type ${JSON.stringify(secret.type ?? 'Opaque')}, not ${TLS_SECRET_TYPE}`);
  const parsed = parseSecret(secret);
  if (!parsed.ok) return invalid(`Secret ${namespace}/${ref.name}: ${parsed.error}`);
  return {
    certificate: {
      name: `secret/${namespace}/${ref.name}`,
      certificatePem: parsed.pair.certificatePem,
      privateKeyPem: parsed.pair.privateKeyPem,
      hostnames: parsed.pair.hostnames,
    },
  };
}

/** Parsing a key pair costs far more than a lookup: remembered per Secret object (never mutated). */
const parsedSecrets = new WeakMap<Secret, TlsKeyPairResult>();

function parseSecret(secret: Secret): TlsKeyPairResult {
  let result = parsedSecrets.get(secret);
  if (result === undefined) {
    result = parseSecretData(secret.data);
    parsedSecrets.set(secret, result);
  }
  return result;
}

// Secret.data is base64, as the API server stores it; stringData is write-only there and
// never read back, so it is not read here either.
function parseSecretData(data: Secret['data']): TlsKeyPairResult {
  if (!data || typeof data !== 'object') return { ok: false, error: 'data is empty; tls.crt and tls.key are required' };
  const crt = data['tls.crt'];
  const key = data['tls.key'];
  if (crt === undefined || crt === '') return { ok: false, error: 'data["tls.crt"] is missing' };
  if (key === undefined || key === '') return { ok: false, error: 'data["tls.key"] is missing' };
  const certificatePem = decodeBase64(crt);
  if (certificatePem === undefined) return { ok: false, error: 'data["tls.crt"] is not base64' };
  const privateKeyPem = decodeBase64(key);
  if (privateKeyPem === undefined) return { ok: false, error: 'data["tls.key"] is not base64' };
  return parseTlsKeyPair(certificatePem, privateKeyPem);
}
