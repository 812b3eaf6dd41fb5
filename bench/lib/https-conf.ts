// Configurations for the HTTPS benchmark: nginx terminating TLS in front of the same backends,
// and the Waygate Gateway with an HTTPS listener whose certificate is a kubernetes.io/tls Secret.
// Both serve the same certificate and key files.
import type { Endpoint } from './nginx-conf.ts';

export interface HttpsProxyConfOptions {
  readonly prefix: string;
  readonly port: number;
  readonly workers: number;
  readonly backends: readonly Endpoint[];
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * nginx as a TLS-terminating reverse proxy, keep-alive to upstreams as in the HTTP bench. TLS
 * settings a production server would have and Waygate has too: TLS 1.2 and 1.3, a shared session
 * cache and session tickets; nginx's default ciphers.
 */
export function httpsProxyConf(o: HttpsProxyConfOptions): string {
  const servers = o.backends.map((b) => `    server ${b.host}:${b.port};`).join('\n');
  return `daemon off;
master_process on;
worker_processes ${o.workers};
pid ${o.prefix}/proxy.pid;
error_log ${o.prefix}/proxy.error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${o.prefix}/proxy-body;
  proxy_temp_path ${o.prefix}/proxy-proxy;
  keepalive_requests 1000000;
  upstream backends {
${servers}
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${o.port} ssl;
    ssl_certificate ${o.certFile};
    ssl_certificate_key ${o.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    ssl_session_timeout 5m;
    location / { proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`;
}

/** A Gateway with one HTTPS listener (no hostname: every server name) on 127.0.0.1. */
export function httpsGatewayYaml(port: number, secretName: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: waygate
spec:
  controllerName: waygate.dev/gateway-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: bench
  namespace: default
spec:
  gatewayClassName: waygate
  addresses:
    - type: IPAddress
      value: 127.0.0.1
  listeners:
    - name: https
      protocol: HTTPS
      port: ${port}
      tls:
        mode: Terminate
        certificateRefs:
          - name: ${secretName}
`;
}

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
