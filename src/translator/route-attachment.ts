// Route attachment to a Gateway (HTTPRoute.spec.parentRefs): sectionName and port select
// listeners; allowedRoutes (kinds and namespaces) must admit the route; listener and route
// hostnames must intersect.
import { GATEWAY_API_GROUP, type HTTPRoute, type ParentReference } from '../api/index.ts';
import { RouteReason, type Problem } from './conditions.ts';
import { namespaceLabels, namespaceOf, type TranslationContext } from './context.ts';
import { intersectHostnames } from './hostnames.ts';
import { matchLabelSelector } from './label-selector.ts';
import type { GatewayState, ListenerState } from './model.ts';

export interface Attachment {
  /** Listeners the route attaches to, each with the hostnames it serves there. */
  readonly listeners: readonly { readonly listener: ListenerState; readonly hostnames: readonly string[] }[];
  readonly problem?: Problem;
}

/**
 * Attachment depends only on parentRefs, allowedRoutes and hostnames, not on the listener's or
 * the Gateway's own conditions ("the route's availability is also subject to the Gateway's own
 * status conditions and listener status"); what is not programmed never reaches the IR.
 */
export function attachToGateway(
  ctx: TranslationContext, route: HTTPRoute, ref: ParentReference, gateway: GatewayState, hostnames: readonly string[],
): Attachment {
  const selected = gateway.listeners.filter((l) => (ref.sectionName === undefined || l.spec.name === ref.sectionName)
    && (ref.port === undefined || l.spec.port === ref.port));
  if (selected.length === 0) return { listeners: [], problem: { reason: RouteReason.NoMatchingParent, message: noListenerMessage(ref) } };
  const allowed = selected.filter((l) => allowsRoute(ctx, l, route));
  if (allowed.length === 0) {
    return { listeners: [], problem: { reason: RouteReason.NotAllowedByListeners, message: `No listener of Gateway ${gateway.namespace}/${gateway.name} selected by this parentRef allows this route (kind or namespace)` } };
  }
  const listeners = allowed
    .map((listener) => ({ listener, hostnames: intersectHostnames(listener.hostname, hostnames) }))
    .filter((a) => a.hostnames.length > 0);
  if (listeners.length === 0) {
    return { listeners: [], problem: { reason: RouteReason.NoMatchingListenerHostname, message: 'No listener hostname intersects the route hostnames' } };
  }
  return { listeners };
}

function noListenerMessage(ref: ParentReference): string {
  const parts = [ref.sectionName !== undefined ? `named ${ref.sectionName}` : '', ref.port !== undefined ? `on port ${ref.port}` : ''].filter(Boolean);
  return `No listener ${parts.join(' ')} in Gateway ${ref.name}`;
}

/** Listener.allowedRoutes: the route's kind must be supported and its namespace admitted. */
function allowsRoute(ctx: TranslationContext, listener: ListenerState, route: HTTPRoute): boolean {
  if (!listener.supportedKinds.some((k) => (k.group ?? GATEWAY_API_GROUP) === GATEWAY_API_GROUP && k.kind === 'HTTPRoute')) return false;
  const routeNs = namespaceOf(route);
  const namespaces = listener.spec.allowedRoutes?.namespaces;
  switch (namespaces?.from ?? 'Same') {
    case 'All': return true;
    case 'Same': return routeNs === listener.gateway.namespace;
    case 'Selector': return !!namespaces?.selector && matchLabelSelector(namespaces.selector, namespaceLabels(ctx, routeNs)).matches;
    default: return false;
  }
}
