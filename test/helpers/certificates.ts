// Test-only X.509 certificates, generated at test time by the openssl CLI in a temp dir.
// Every function returns PEM strings; nothing is cached on disk after it returns.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KeyType = 'rsa' | 'ecdsa';

export interface TestCertificate {
  /** The certificate alone (PEM). */
  readonly certPem: string;
  /** Its private key (PKCS#8 PEM). */
  readonly keyPem: string;
}

export interface LeafOptions {
  readonly keyType?: KeyType;
  /** Subject CN; defaults to the first DNS name. */
  readonly commonName?: string;
  /** Validity in days; default 3650 so no test depends on the date. */
  readonly days?: number;
}

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function withTempDir<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'waygate-certs-'));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function generateKey(dir: string, keyType: KeyType): void {
  const algorithm = keyType === 'rsa'
    ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
    : ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  openssl(dir, ['genpkey', ...algorithm, '-out', 'key.pem']);
}

function extensionsFile(dir: string, dnsNames: readonly string[], ca: boolean): void {
  const lines = ca
    ? ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']
    : ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth'];
  if (dnsNames.length > 0) lines.push(`subjectAltName=${dnsNames.map((n) => `DNS:${n}`).join(',')}`);
  writeFileSync(join(dir, 'ext.cnf'), `${lines.join('\n')}\n`);
}

function readPair(dir: string): TestCertificate {
  return {
    certPem: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    keyPem: readFileSync(join(dir, 'key.pem'), 'utf8'),
  };
}

/** A self-signed CA certificate that can sign leaves with `makeLeafCertificate`. */
export function makeCA(commonName = 'Waygate Test CA', keyType: KeyType = 'ecdsa'): TestCertificate {
  return withTempDir((dir) => {
    generateKey(dir, keyType);
    openssl(dir, ['req', '-new', '-x509', '-key', 'key.pem', '-out', 'cert.pem', '-days', '3650',
      '-subj', `/CN=${commonName}`, '-extensions', 'v3', '-config', writeReqConfig(dir, true)]);
    return readPair(dir);
  });
}

// `openssl req -x509` takes its extensions from a config section.
function writeReqConfig(dir: string, ca: boolean, dnsNames: readonly string[] = []): string {
  extensionsFile(dir, dnsNames, ca);
  const ext = readFileSync(join(dir, 'ext.cnf'), 'utf8');
  writeFileSync(join(dir, 'req.cnf'), `[req]\ndistinguished_name=dn\n[dn]\n[v3]\n${ext}`);
  return 'req.cnf';
}

/** A leaf certificate for `dnsNames` (subjectAltName DNS; may be empty to test a CN-only one), signed by `ca`. */
export function makeLeafCertificate(ca: TestCertificate, dnsNames: readonly string[], options: LeafOptions = {}): TestCertificate {
  return withTempDir((dir) => {
    generateKey(dir, options.keyType ?? 'rsa');
    writeFileSync(join(dir, 'ca.pem'), ca.certPem);
    writeFileSync(join(dir, 'ca.key'), ca.keyPem);
    extensionsFile(dir, dnsNames, false);
    const cn = options.commonName ?? dnsNames[0] ?? 'waygate.test';
    openssl(dir, ['req', '-new', '-key', 'key.pem', '-out', 'req.csr', '-subj', `/CN=${cn}`]);
    openssl(dir, ['x509', '-req', '-in', 'req.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', 'cert.pem', '-days', String(options.days ?? 3650), '-extfile', 'ext.cnf']);
    return readPair(dir);
  });
}

/** A self-signed leaf certificate for `dnsNames`. */
export function makeSelfSignedCertificate(dnsNames: readonly string[], options: LeafOptions = {}): TestCertificate {
  return withTempDir((dir) => {
    generateKey(dir, options.keyType ?? 'rsa');
    const cn = options.commonName ?? dnsNames[0] ?? 'waygate.test';
    openssl(dir, ['req', '-new', '-x509', '-key', 'key.pem', '-out', 'cert.pem',
      '-days', String(options.days ?? 3650), '-subj', `/CN=${cn}`,
      '-extensions', 'v3', '-config', writeReqConfig(dir, false, dnsNames)]);
    return readPair(dir);
  });
}

/** `data` of a `kubernetes.io/tls` Secret holding `cert` (with `chain` appended) and its key. */
export function tlsSecretData(cert: TestCertificate, chain: readonly TestCertificate[] = []): Record<string, string> {
  const crt = [cert.certPem, ...chain.map((c) => c.certPem)].join('');
  return {
    'tls.crt': Buffer.from(crt).toString('base64'),
    'tls.key': Buffer.from(cert.keyPem).toString('base64'),
  };
}
