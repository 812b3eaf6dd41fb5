// nginx configurations for the benchmark: fixed-body backends and the reverse proxy that Waygate
// is compared with. Every path lives under the benchmark's temporary prefix.

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** A one-worker nginx that answers every request with 200 "ok\n". */
export function backendConf(prefix: string, name: string, port: number): string {
  return `daemon off;
master_process on;
worker_processes 1;
pid ${prefix}/${name}.pid;
error_log ${prefix}/${name}.error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${prefix}/${name}-body;
  proxy_temp_path ${prefix}/${name}-proxy;
  default_type text/plain;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:${port};
    location / { return 200 "ok\\n"; }
  }
}
`;
}

export interface ProxyConfOptions {
  readonly prefix: string;
  readonly port: number;
  readonly workers: number;
  readonly backends: readonly Endpoint[];
  /** Churn generation: 0 is the base configuration; n > 0 adds the location `/churn-<n>/`. */
  readonly generation?: number;
  /** Terminate TLS with these files (the HTTPS bench). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

/**
 * nginx as a reverse proxy to the same backends, with keep-alive to upstreams. The churn
 * variants add a second location to the same upstream, the counterpart of the second
 * HTTPRoute rule Waygate gets in `routeYaml()`. With `tls`, the TLS settings a production server
 * would have and Waygate has too: TLS 1.2 and 1.3, a shared session cache and session tickets;
 * nginx's default ciphers.
 */
export function proxyConf(o: ProxyConfOptions): string {
  const servers = o.backends.map((b) => `    server ${b.host}:${b.port};`).join('\n');
  const proxied = 'proxy_pass http://backends; proxy_http_version 1.1; proxy_set_header Connection "";';
  const generation = o.generation ?? 0;
  const churn = generation > 0 ? `\n    location /churn-${generation}/ { ${proxied} }` : '';
  const listen = o.tls === undefined ? `listen 127.0.0.1:${o.port};` : `listen 127.0.0.1:${o.port} ssl;
    ssl_certificate ${o.tls.certFile};
    ssl_certificate_key ${o.tls.keyFile};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:10m;
    ssl_session_timeout 5m;`;
  return `daemon off;
master_process on;
worker_processes ${o.workers};
pid ${o.prefix}/proxy.pid;
# notice: each reload logs "reconfiguring", which is how applied reloads are counted.
error_log ${o.prefix}/proxy.error.log notice;
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
    ${listen}
    location / { ${proxied} }${churn}
  }
}
`;
}
