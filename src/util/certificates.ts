// A TLS key pair as a `kubernetes.io/tls` Secret holds it (`tls.crt`, `tls.key`): parse the PEM
// certificate chain, check that the private key belongs to the leaf, and read the names the leaf
// is valid for. Deterministic: no clock is read, so expiry is not checked here.
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';

export interface TlsKeyPair {
  /** The certificates as PEM, leaf first, re-encoded one block after another. */
  readonly certificatePem: string;
  /** The private key as PKCS#8 PEM. */
  readonly privateKeyPem: string;
  /** subjectAltName DNS names, else the subject CN; lower-case, sorted, without duplicates. */
  readonly hostnames: readonly string[];
}

export type TlsKeyPairResult = { readonly ok: true; readonly pair: TlsKeyPair } | { readonly ok: false; readonly error: string };

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** Checks a PEM certificate chain and PEM private key; `error` says what is wrong, never the key. */
export function parseTlsKeyPair(certificatePem: string, privateKeyPem: string): TlsKeyPairResult {
  const blocks = certificatePem.match(CERTIFICATE_BLOCK) ?? [];
  if (blocks.length === 0) return { ok: false, error: 'tls.crt holds no PEM certificate' };
  const certificates: X509Certificate[] = [];
  for (const [i, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      return { ok: false, error: `tls.crt: certificate ${i + 1} is not a valid X.509 certificate` };
    }
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: privateKeyPem, format: 'pem' });
  } catch {
    return { ok: false, error: 'tls.key is not a valid unencrypted PEM private key' };
  }
  const leaf = certificates[0];
  if (!leaf.checkPrivateKey(key)) return { ok: false, error: 'tls.key does not match the first certificate in tls.crt' };
  const hostnames = leafHostnames(leaf);
  if (hostnames.length === 0) return { ok: false, error: 'the certificate in tls.crt names no DNS name (subjectAltName DNS or subject CN)' };
  return {
    ok: true,
    pair: {
      certificatePem: certificates.map((c) => c.toString()).join(''),
      privateKeyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
      hostnames,
    },
  };
}

/** subjectAltName DNS entries; only without any, the subject's CN (RFC 6125 §6.4.4). */
function leafHostnames(leaf: X509Certificate): string[] {
  const dns = splitAltNames(leaf.subjectAltName ?? '')
    .filter((entry) => entry.startsWith('DNS:'))
    .map((entry) => unquote(entry.slice('DNS:'.length)));
  const names = dns.length > 0 ? dns : subjectCommonNames(leaf.subject);
  return [...new Set(names.map((n) => n.toLowerCase()).filter(isDnsName))].sort();
}

// Node writes subjectAltName as `DNS:a, DNS:b`, quoting a value that contains a comma.
function splitAltNames(text: string): string[] {
  return text.match(/[A-Za-z ]+:(?:"(?:[^"\\]|\\.)*"|[^,]*)/g)?.map((s) => s.trim()) ?? [];
}

function unquote(value: string): string {
  return value.startsWith('"') ? (JSON.parse(value) as string) : value;
}

function subjectCommonNames(subject: string): string[] {
  return subject.split('\n').filter((line) => line.startsWith('CN=')).map((line) => line.slice(3));
}

/** A DNS name or `*.`-wildcard one, as a certificate may name it (not an IP address or free text). */
function isDnsName(name: string): boolean {
  return /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name) && !/^[0-9.]+$/.test(name);
}

/** Base64 as Kubernetes stores Secret `data` (standard alphabet, padded); undefined when it is not. */
export function decodeBase64(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  const compact = text.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return undefined;
  return Buffer.from(compact, 'base64').toString('utf8');
}
