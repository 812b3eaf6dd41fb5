// Assemble the IR from the bind plan and the routes attached to programmable listeners:
// binds and backends by name, listeners by name, virtual hosts by hostname, routes in
// precedence order.
import type {
  IR, IRBackend, IRBackendPolicy, IRBind, IRCertificate, IRHttpListener, IRRoute, IRVirtualHost,
} from '../ir/index.ts';
import type { BindPlan } from './binds.ts';
import type { ServicePortRef } from './backends.ts';
import type { TranslationContext } from './context.ts';
import { buildBackend } from './endpoints.ts';
import { sameItems } from './fields.ts';
import { irRouteBackendNames } from './filters/backend-names.ts';
import { hostnameCovers, isWildcard } from './hostnames.ts';
import { isListenerProgrammable, type AttachedRoute, type AttachedRules, type ListenerState } from './model.ts';
import { compareRoutePrecedence, compareText } from './precedence.ts';

/** The settings of each Service port (backend-policy.ts), and the policies they come from. */
export interface Policies {
  policyOf(ref: ServicePortRef): IRBackendPolicy | undefined;
  readonly inputs: readonly object[];
}

export function buildIR(ctx: TranslationContext, binds: ReadonlyMap<string, BindPlan>, catalog: ReadonlyMap<string, ServicePortRef>, policies: Policies): IR {
  const irBinds: IRBind[] = [...binds.values()]
    .map((plan) => buildBind(ctx, plan))
    .filter((b) => b.listeners.length > 0)
    .sort((a, b) => compareText(a.name, b.name));
  const certificates = collectCertificates(binds);
  const backends = buildBackends(ctx, irBinds, catalog, policies);
  return certificates.length > 0 ? { binds: irBinds, backends, certificates } : { binds: irBinds, backends };
}

/** The certificates of the programmed HTTPS listeners, each once, sorted by name. */
function collectCertificates(binds: ReadonlyMap<string, BindPlan>): IRCertificate[] {
  const byName = new Map<string, IRCertificate>();
  for (const plan of binds.values()) {
    for (const listener of plan.listeners.values()) {
      if (!isListenerProgrammable(listener)) continue;
      for (const certificate of listener.certificates ?? []) byName.set(certificate.name, certificate);
    }
  }
  return [...byName.values()].sort((a, b) => compareText(a.name, b.name));
}

function buildBind(ctx: TranslationContext, plan: BindPlan): IRBind {
  const listeners = [...plan.listeners.values()]
    .filter(isListenerProgrammable)
    .map((listener) => buildListener(ctx, listener))
    .sort((a, b) => compareText(a.name, b.name));
  return { name: plan.name, address: plan.address, port: plan.port, protocol: plan.protocol, listeners };
}

function buildListener(ctx: TranslationContext, listener: ListenerState): IRHttpListener {
  const byHostname = listener.attached.byHostname;
  const wildcards = [...byHostname.keys()].filter((h) => h === '*' || isWildcard(h));
  const hostnames = [...byHostname.keys()].sort(compareText);
  const virtualHosts: IRVirtualHost[] = hostnames.map((hostname) => virtualHost(ctx, listener.irName, byHostname, wildcards, hostname));
  // IRHttpListener.certificates: only HTTPS listeners have them, and a programmed one has one at least.
  const certificates = listener.certificates && listener.certificates.length > 0 ? { certificates: listener.certificates.map((c) => c.name) } : {};
  return listener.hostname === undefined
    ? { name: listener.irName, port: listener.spec.port, ...certificates, virtualHosts }
    : { name: listener.irName, hostname: listener.hostname, port: listener.spec.port, ...certificates, virtualHosts };
}

/**
 * A virtual host serves the routes attached for its own hostname and for every less
 * specific hostname covering it (a wildcard, or any host), since a request for it matches
 * those routes too; hostname precedence then match precedence orders them. Only a wildcard
 * or `*` covers another hostname, so only those are tried.
 */
function virtualHost(
  ctx: TranslationContext, listener: string, byHostname: ReadonlyMap<string, readonly AttachedRules[]>, wildcards: readonly string[], hostname: string,
): IRVirtualHost {
  const entries = [...byHostname.get(hostname)!];
  for (const pattern of wildcards) {
    if (pattern !== hostname && hostnameCovers(pattern, hostname)) entries.push(...byHostname.get(pattern)!);
  }
  return ctx.cache ? ctx.cache.virtualHost(listener, hostname, entries, () => orderRoutes(entries)) : { hostname, routes: orderRoutes(entries) };
}

/** The IR routes of the attached rules (one per rule and match) in precedence order, each once. */
function orderRoutes(attached: readonly AttachedRules[]): IRRoute[] {
  const entries: AttachedRoute[] = [];
  for (const { hostname, route, rules } of attached) {
    for (const rule of rules) {
      for (const { matchIndex, ir } of rule.routes) entries.push({ hostname, route, ruleIndex: rule.ruleIndex, matchIndex, ir });
    }
  }
  entries.sort(compareRoutePrecedence);
  const seen = new Set<string>();
  const out: IRRoute[] = [];
  for (const entry of entries) {
    if (seen.has(entry.ir.name)) continue;
    seen.add(entry.ir.name);
    out.push(entry.ir);
  }
  return out;
}

function buildBackends(ctx: TranslationContext, binds: readonly IRBind[], catalog: ReadonlyMap<string, ServicePortRef>, policies: Policies): IRBackend[] {
  const names = new Set<string>();
  for (const bind of binds) {
    for (const listener of bind.listeners) {
      for (const vhost of listener.virtualHosts) for (const name of backendsOf(vhost)) names.add(name);
    }
  }
  const sorted = [...names].sort(compareText);
  const refs = sorted.map((name) => catalog.get(name));
  // Nothing a backend is built from changed since the last translation (Services, EndpointSlices,
  // policies, the refs): the last list is the answer, without a lookup per backend.
  const last = ctx.cache?.slot('ir-backends', () => ({ refs: [] as (ServicePortRef | undefined)[], inputs: [] as readonly object[], out: [] as IRBackend[] }));
  const settled = ctx.cache?.unchangedSinceLast(ctx) ?? false;
  if (last !== undefined && settled && sameItems(last.refs, refs) && sameItems(last.inputs, policies.inputs)) return last.out;
  const out = refs.flatMap((ref) => {
    if (!ref) return [];
    const backend = ctx.cache ? ctx.cache.remember('backend', ref, ctx, (c) => buildBackend(c, ref)) : buildBackend(ctx, ref);
    return [withPolicy(backend, policies.policyOf(ref))];
  });
  if (last !== undefined) Object.assign(last, { refs, inputs: policies.inputs, out });
  return out;
}

/** The backend with its policy: the same object while both are, so unchanged parts of the IR stay the same objects. */
const withPolicies = new WeakMap<IRBackend, { readonly policy: IRBackendPolicy; readonly out: IRBackend }>();

function withPolicy(backend: IRBackend, policy: IRBackendPolicy | undefined): IRBackend {
  if (policy === undefined) return backend;
  const known = withPolicies.get(backend);
  if (known !== undefined && known.policy === policy) return known.out;
  const out = { ...backend, policy };
  withPolicies.set(backend, { policy, out });
  return out;
}

/** The backends a virtual host's routes forward to, once per virtual host object (IR objects are never mutated). */
const backendsByVirtualHost = new WeakMap<IRVirtualHost, readonly string[]>();

function backendsOf(vhost: IRVirtualHost): readonly string[] {
  let names = backendsByVirtualHost.get(vhost);
  if (names === undefined) {
    const found = new Set<string>();
    // Forward choices and mirrors (IR.backends: "every backend any route forwards to or mirrors to").
    for (const route of vhost.routes) for (const name of irRouteBackendNames(route)) found.add(name);
    names = [...found];
    backendsByVirtualHost.set(vhost, names);
  }
  return names;
}
