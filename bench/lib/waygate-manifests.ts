// Manifests for the benchmark's Waygate: one Gateway listening on 127.0.0.1, one HTTPRoute,
// one Service whose two EndpointSlices list the two backends (one slice per backend port).
import type { Endpoint } from './nginx-conf.ts';

export const ROUTE_FILE = 'route.yaml';

/** The Gateway on 127.0.0.1: an HTTP listener, or with `tlsSecret` an HTTPS one (no hostname: every server name). */
export function gatewayYaml(port: number, tlsSecret?: string): string {
  const listener = tlsSecret === undefined
    ? `    - name: http
      protocol: HTTP
      port: ${port}
`
    : `    - name: https
      protocol: HTTPS
      port: ${port}
      tls:
        mode: Terminate
        certificateRefs:
          - name: ${tlsSecret}
`;
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
${listener}`;
}

export function backendsYaml(backends: readonly Endpoint[]): string {
  const service = `apiVersion: v1
kind: Service
metadata:
  name: backend
  namespace: default
spec:
  ports:
    - name: http
      port: 80
`;
  const slices = backends.map((b, i) => `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: backend-${i + 1}
  namespace: default
  labels:
    kubernetes.io/service-name: backend
addressType: IPv4
ports:
  - name: http
    port: ${b.port}
endpoints:
  - addresses: ["${b.host}"]
    conditions:
      ready: true
`);
  return [service, ...slices].join('---\n');
}

/** Generation 0: PathPrefix / only; n > 0 adds a rule for PathPrefix /churn-<n>/. */
export function routeYaml(generation: number): string {
  const rule = (path: string) => `    - matches:
        - path:
            type: PathPrefix
            value: ${path}
      backendRefs:
        - name: backend
          port: 80
`;
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: bench
  namespace: default
spec:
  parentRefs:
    - name: bench
  rules:
${rule('/')}${generation > 0 ? rule(`/churn-${generation}/`) : ''}`;
}
