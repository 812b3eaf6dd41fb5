// Structural checks on an IR before it is published: a failure here is a translator bug,
// so it is reported with the element's name and the configuration is not published.
import { endpointUsable } from './endpoints.ts';
import type { IR, IRBackend, IRVirtualHost } from './types.ts';

export function validateIR(ir: IR): string[] {
  const errors: string[] = [];
  const backends = new Set(ir.backends.map((b) => b.name));
  const bindNames = new Set<string>();
  for (const bind of ir.binds) {
    if (bindNames.has(bind.name)) errors.push(`bind ${bind.name}: duplicate name`);
    bindNames.add(bind.name);
    if (!Number.isInteger(bind.port) || bind.port < 1 || bind.port > 65535) errors.push(`bind ${bind.name}: port ${bind.port} out of range`);
    for (const listener of bind.listeners) {
      for (const vhost of listener.virtualHosts) errors.push(...virtualHostProblems(vhost, backends));
    }
  }
  for (const backend of ir.backends) errors.push(...backendProblems(backend));
  return errors;
}

// IR objects are never mutated, so what a virtual host or a backend says about itself is checked
// once per object: after a small change, only the new objects are walked.
const checkedVirtualHosts = new WeakMap<IRVirtualHost, { readonly problems: readonly string[]; readonly backends: readonly string[] }>();
const checkedBackends = new WeakMap<IRBackend, readonly string[]>();

function virtualHostProblems(vhost: IRVirtualHost, backends: ReadonlySet<string>): readonly string[] {
  let checked = checkedVirtualHosts.get(vhost);
  if (checked === undefined) {
    const referenced = new Set<string>();
    for (const route of vhost.routes) {
      for (const mirror of route.filters?.mirrors ?? []) referenced.add(mirror.backend);
      if (route.action.type !== 'Forward') continue;
      for (const choice of route.action.backends) {
        if (choice.backend !== undefined) referenced.add(choice.backend);
        for (const mirror of choice.filters?.mirrors ?? []) referenced.add(mirror.backend);
      }
    }
    checked = { problems: checkRoutes(vhost, undefined), backends: [...referenced] };
    checkedVirtualHosts.set(vhost, checked);
  }
  // Unknown backends depend on the whole IR: in the rare case, walk the routes again for the messages in order.
  return checked.backends.every((b) => backends.has(b)) ? checked.problems : checkRoutes(vhost, backends);
}

/** The routes' problems; unknown backends only when `backends` is given. */
function checkRoutes(vhost: IRVirtualHost, backends: ReadonlySet<string> | undefined): string[] {
  const errors: string[] = [];
  for (const route of vhost.routes) {
    const mirrors = [...(route.filters?.mirrors ?? []), ...(route.action.type === 'Forward' ? route.action.backends.flatMap((c) => c.filters?.mirrors ?? []) : [])];
    for (const mirror of mirrors) {
      if (backends !== undefined && !backends.has(mirror.backend)) errors.push(`route ${route.name}: unknown mirror backend ${mirror.backend}`);
      if (!(Number.isInteger(mirror.numerator) && Number.isInteger(mirror.denominator) && mirror.numerator > 0 && mirror.numerator <= mirror.denominator)) {
        errors.push(`route ${route.name}: mirror share ${mirror.numerator}/${mirror.denominator} is not a fraction in (0, 1]`);
      }
    }
    if (route.action.type !== 'Forward') continue;
    if (route.action.backends.length === 0) errors.push(`route ${route.name}: no backend choices`);
    const session = route.action.sessionPersistence;
    if (session !== undefined && !TOKEN.test(session.name)) errors.push(`route ${route.name}: session name ${JSON.stringify(session.name)} is not a token`);
    for (const choice of route.action.backends) {
      if (backends !== undefined && choice.backend !== undefined && !backends.has(choice.backend)) {
        errors.push(`route ${route.name}: unknown backend ${choice.backend}`);
      }
      if (choice.backend === undefined && choice.status === undefined) errors.push(`route ${route.name}: choice with neither backend nor status`);
      if (!(choice.weight > 0)) errors.push(`route ${route.name}: weight must be positive`);
    }
  }
  return errors;
}

function backendProblems(backend: IRBackend): readonly string[] {
  let problems = checkedBackends.get(backend);
  if (problems === undefined) {
    const errors: string[] = [];
    validateBackend(backend, errors);
    problems = errors;
    checkedBackends.set(backend, problems);
  }
  return problems;
}

/** RFC 9110 token: what a header or cookie name must be. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HASHING = new Set(['RingHash', 'Maglev']);

function validatePolicy(backend: IRBackend, errors: string[]): void {
  const p = backend.policy;
  if (p === undefined) return;
  const hashing = p.loadBalancer !== undefined && HASHING.has(p.loadBalancer);
  if (hashing !== (p.hashKey !== undefined)) errors.push(`backend ${backend.name}: a hash key goes with RingHash or Maglev, and only with them`);
  if (p.stickySession !== undefined && !TOKEN.test(p.stickySession.cookieName)) errors.push(`backend ${backend.name}: sticky cookie name is not a token`);
  if (p.zone !== undefined && !(Number.isInteger(p.zone.minEndpoints) && p.zone.minEndpoints >= 1)) errors.push(`backend ${backend.name}: zone minEndpoints must be at least 1`);
}

function validateBackend(backend: IRBackend, errors: string[]): void {
  validatePolicy(backend, errors);
  const dns = backend.dns;
  if (dns !== undefined) {
    if (typeof dns.hostname !== 'string' || dns.hostname === '') errors.push(`backend ${backend.name}: dns: no hostname`);
    if (!Number.isInteger(dns.port) || dns.port < 1 || dns.port > 65535) errors.push(`backend ${backend.name}: dns: port out of range`);
    if (backend.endpoints.length > 0) errors.push(`backend ${backend.name}: dns and endpoints exclude each other`);
  }
  const seen = new Set<string>();
  for (const e of backend.endpoints) {
    let problem: string | undefined;
    const key = `${e.address}|${e.port}`;
    if (typeof e.address !== 'string' || e.address === '') problem = 'no address';
    else if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) problem = 'port out of range';
    else if (!endpointUsable(e)) problem = 'neither ready nor serving and terminating';
    else if (seen.has(key)) problem = 'duplicate';
    seen.add(key);
    if (problem !== undefined) errors.push(`backend ${backend.name}: endpoint ${e.address}:${e.port}: ${problem}`);
  }
}
