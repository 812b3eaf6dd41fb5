// HTTPCORSFilter: preflights answered by the gateway, allowed origins' answers marked for the
// browser. Values were joined by the compiler; only the request's own values are read here.
import { headerValue, normalizeOrigin, type CompiledCors } from '../../compiler/index.ts';

/** A CORS preflight: OPTIONS with Origin and Access-Control-Request-Method (Fetch §3.2.2). */
export function isPreflight(method: string, origin: string | undefined, rawHeaders: readonly string[]): boolean {
  return method === 'OPTIONS' && origin !== undefined && headerValue(rawHeaders, 'access-control-request-method') !== undefined;
}

export function originAllowed(cors: CompiledCors, origin: string): boolean {
  if (cors.anyOrigin) return true;
  const normal = normalizeOrigin(origin);
  if (cors.origins.has(normal)) return true;
  for (const pattern of cors.originPatterns) if (pattern.test(normal)) return true;
  return false;
}

/**
 * Headers of a preflight answer (200, no body). An origin that is not allowed gets none of the
 * Access-Control headers (the CRD's first choice: OK without them, and the browser stops).
 * Methods and headers `*` are echoed from the request when credentials are allowed, as the
 * CRD requires; Allow-Headers is left out when the request names no headers.
 */
export function preflightHeaders(cors: CompiledCors, origin: string, rawHeaders: readonly string[]): string[] {
  const out = ['vary', 'Origin'];
  if (!originAllowed(cors, origin)) return out;
  // Always the request's origin, never `*`: the CRD allows echoing in every case (and requires
  // it with credentials), so one rule serves both; `Vary: Origin` keeps caches right.
  out.push('access-control-allow-origin', origin);
  if (cors.allowCredentials) out.push('access-control-allow-credentials', 'true');
  const method = headerValue(rawHeaders, 'access-control-request-method')!;
  const methods = cors.anyMethod ? (cors.allowCredentials ? method : '*') : cors.methods;
  if (methods !== '') out.push('access-control-allow-methods', methods);
  const requested = headerValue(rawHeaders, 'access-control-request-headers');
  if (requested !== undefined) {
    const headers = cors.anyHeader ? (cors.allowCredentials ? requested : '*') : cors.headers;
    if (headers !== '') out.push('access-control-allow-headers', headers);
  }
  pushExpose(cors, out);
  out.push('access-control-max-age', cors.maxAge);
  return out;
}

/**
 * An actual cross-origin request's answer: Allow-Origin (the request's origin, replacing the
 * backend's own Access-Control headers), Allow-Credentials and Expose-Headers when the origin is
 * allowed; Vary: Origin always, since the answer depends on it.
 */
export function addActualCorsHeaders(cors: CompiledCors, origin: string, out: string[]): string[] {
  let headers = out;
  if (originAllowed(cors, origin)) {
    headers = [];
    for (let i = 0; i < out.length; i += 2) {
      if (!out[i].toLowerCase().startsWith('access-control-')) headers.push(out[i], out[i + 1]);
    }
    headers.push('access-control-allow-origin', origin);
    if (cors.allowCredentials) headers.push('access-control-allow-credentials', 'true');
    pushExpose(cors, headers);
  }
  headers.push('vary', 'Origin');
  return headers;
}

/** `*` cannot be used with credentials (the CRD), and the names are unknown then: left out. */
function pushExpose(cors: CompiledCors, out: string[]): void {
  const expose = cors.anyExpose ? (cors.allowCredentials ? '' : '*') : cors.expose;
  if (expose !== '') out.push('access-control-expose-headers', expose);
}
