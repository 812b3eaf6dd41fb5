// Secret material never leaves through the admin API: any field whose name says it holds a
// key, a password, a token or certificate data is replaced.
// `privateKeyPem` is IRCertificate's: the composition root already redacts the IR (redactIR,
// which keeps a hash of the key); this catches any key that reaches the API another way.
const SECRET_FIELD = /^(key|privateKey|privateKeyPem|password|token|secret|data|tlsKey|cert(ificate)?Data)$/i;

export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_FIELD.test(k) && v !== null && v !== undefined && !isRedacted(v) ? '<redacted>' : redactSecrets(v);
  }
  return out;
}

/** Already redacted upstream (redactIR's `<redacted sha256:…>` keeps telling whether a key changed). */
function isRedacted(value: unknown): boolean {
  return typeof value === 'string' && value.startsWith('<redacted');
}
