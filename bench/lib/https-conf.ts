// For the HTTPS benchmark: the kubernetes.io/tls Secret the Waygate Gateway's HTTPS listener
// names (nginx serves the same certificate and key files; nginx-conf.ts), and the wrk script
// that opens a new connection per request.

export function tlsSecretYaml(name: string, certPem: string, keyPem: string): string {
  return `apiVersion: v1
kind: Secret
metadata:
  name: ${name}
  namespace: default
type: kubernetes.io/tls
data:
  tls.crt: ${Buffer.from(certPem).toString('base64')}
  tls.key: ${Buffer.from(keyPem).toString('base64')}
`;
}

/** A wrk script that closes the connection after each response: every request is a new TLS handshake. */
export function connectionCloseScript(): string {
  return 'wrk.headers["Connection"] = "close"\n';
}
