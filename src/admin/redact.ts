// Secret material never leaves through the admin API: any field whose name says it holds a
// key, a password, a token or certificate data is replaced.
const SECRET_FIELD = /^(key|privateKey|password|token|secret|data|tlsKey|cert(ificate)?Data)$/i;

export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_FIELD.test(k) && v !== null && v !== undefined ? '<redacted>' : redactSecrets(v);
  }
  return out;
}
