// Assemble the IR from the bind plan and the routes attached to programmable listeners:
// binds and backends by name, listeners by name, virtual hosts by hostname, routes in
// precedence order.
import type { IR, IRBackend, IRBackendPolicy, IRBind, IRHttpListener, IRRoute, IRVirtualHost } from '../ir/index.ts';
import type { BindPlan } from './binds.ts';
import type { ServicePortRef } from './backends.ts';
import type { TranslationContext } from './context.ts';
import { buildBackend } from './endpoints.ts';
import { hostnameCovers } from './hostnames.ts';
import { isListenerProgrammable, type ListenerState } from './model.ts';
import { compareRoutePrecedence, compareText } from './precedence.ts';

/** The settings of a Service port (backend-policy.ts). */
export type PolicyOf = (ref: ServicePortRef) => IRBackendPolicy | undefined;

export function buildIR(ctx: TranslationContext, binds: ReadonlyMap<string, BindPlan>, catalog: ReadonlyMap<string, ServicePortRef>, policyOf: PolicyOf): IR {
  const irBinds: IRBind[] = [...binds.values()]
    .map((plan) => buildBind(plan))
    .filter((b) => b.listeners.length > 0)
    .sort((a, b) => compareText(a.name, b.name));
  return { binds: irBinds, backends: buildBackends(ctx, irBinds, catalog, policyOf) };
}

function buildBind(plan: BindPlan): IRBind {
  const listeners = [...plan.listeners.values()]
    .filter(isListenerProgrammable)
    .map(buildListener)
    .sort((a, b) => compareText(a.name, b.name));
  return { name: plan.name, address: plan.address, port: plan.port, protocol: 'HTTP', listeners };
}

function buildListener(listener: ListenerState): IRHttpListener {
  const hostnames = [...new Set(listener.routes.map((r) => r.hostname))].sort(compareText);
  const virtualHosts: IRVirtualHost[] = hostnames.map((hostname) => ({ hostname, routes: routesFor(listener, hostname) }));
  return listener.hostname === undefined
    ? { name: listener.irName, virtualHosts }
    : { name: listener.irName, hostname: listener.hostname, virtualHosts };
}

/**
 * A virtual host serves the routes attached for its own hostname and for every less
 * specific hostname covering it (a wildcard, or any host), since a request for it matches
 * those routes too; hostname precedence then match precedence orders them.
 */
function routesFor(listener: ListenerState, hostname: string): IRRoute[] {
  const entries = listener.routes.filter((r) => hostnameCovers(r.hostname, hostname)).sort(compareRoutePrecedence);
  const seen = new Set<string>();
  const out: IRRoute[] = [];
  for (const entry of entries) {
    if (seen.has(entry.ir.name)) continue;
    seen.add(entry.ir.name);
    out.push(entry.ir);
  }
  return out;
}

function buildBackends(ctx: TranslationContext, binds: readonly IRBind[], catalog: ReadonlyMap<string, ServicePortRef>, policyOf: PolicyOf): IRBackend[] {
  const names = new Set<string>();
  for (const bind of binds) {
    for (const listener of bind.listeners) {
      for (const vhost of listener.virtualHosts) {
        for (const route of vhost.routes) {
          if (route.action.type !== 'Forward') continue;
          for (const choice of route.action.backends) if (choice.backend !== undefined) names.add(choice.backend);
        }
      }
    }
  }
  return [...names].sort(compareText).flatMap((name) => {
    const ref = catalog.get(name);
    if (!ref) return [];
    const backend = buildBackend(ctx, ref);
    const policy = policyOf(ref);
    return [policy ? { ...backend, policy } : backend];
  });
}
