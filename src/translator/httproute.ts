// HTTPRoute: per parentRef naming one of Waygate's Gateways, attach the route's valid rules
// to the listeners that admit it and compute the RouteParentStatus conditions.
import type { Condition, HTTPRoute, ParentReference, RouteParentStatus } from '../api/index.ts';
import { GATEWAY_API_GROUP } from '../api/index.ts';
import { ConditionType, RouteReason, condition, conditionFrom } from './conditions.ts';
import { keyOf, namespaceOf, type TranslationContext } from './context.ts';
import { translateRouteRules, type RouteTranslation } from './httproute-rules.ts';
import type { GatewayState } from './model.ts';
import { attachToGateway, type Attachment } from './route-attachment.ts';
import type { ServicePortRef } from './backends.ts';
import type { ObjectStatus } from './types.ts';

export interface HttpRouteResult {
  readonly statuses: readonly ObjectStatus[];
  readonly backends: ReadonlyMap<string, ServicePortRef>;
}

export function processHttpRoutes(
  ctx: TranslationContext, routes: readonly HTTPRoute[], gateways: readonly GatewayState[],
): HttpRouteResult {
  const byKey = new Map(gateways.map((g) => [keyOf(g.namespace, g.name), g]));
  const statuses: ObjectStatus[] = [];
  const backends = new Map<string, ServicePortRef>();
  for (const route of routes) {
    if (!route.metadata?.name) continue;
    const parents = processRoute(ctx, route, byKey, backends);
    if (parents.length > 0) statuses.push(routeStatus(route, parents));
  }
  return { statuses, backends };
}

function processRoute(
  ctx: TranslationContext, route: HTTPRoute, gateways: ReadonlyMap<string, GatewayState>, backends: Map<string, ServicePortRef>,
): RouteParentStatus[] {
  const refs = Array.isArray(route.spec?.parentRefs) ? route.spec.parentRefs : [];
  const ours = refs.map((ref) => ({ ref, gateway: gatewayOf(route, ref, gateways) })).filter((p) => p.gateway !== undefined);
  if (ours.length === 0) return [];
  const translation = ctx.cache ? ctx.cache.remember('rules', route, ctx, (c) => translateRouteRules(c, route)) : translateRouteRules(ctx, route);
  return ours.map(({ ref, gateway }) => {
    const attachment = attachToGateway(ctx, route, ref, gateway as GatewayState, translation.hostnames);
    const accepted = !attachment.problem && !translation.routeProblem;
    if (accepted) recordAttachment(route, translation, attachment, backends);
    return parentStatus(ctx, route, ref, translation, attachment);
  });
}

/** Only parentRefs of kind Gateway naming one of Waygate's Gateways concern Waygate. */
function gatewayOf(route: HTTPRoute, ref: ParentReference, gateways: ReadonlyMap<string, GatewayState>): GatewayState | undefined {
  if (!ref || (ref.group ?? GATEWAY_API_GROUP) !== GATEWAY_API_GROUP || (ref.kind ?? 'Gateway') !== 'Gateway') return undefined;
  if (typeof ref.name !== 'string') return undefined;
  return gateways.get(keyOf(ref.namespace ?? namespaceOf(route), ref.name));
}

function recordAttachment(route: HTTPRoute, t: RouteTranslation, attachment: Attachment, backends: Map<string, ServicePortRef>): void {
  const routeKey = keyOf(namespaceOf(route), route.metadata.name);
  for (const { listener, hostnames } of attachment.listeners) {
    listener.attachedRoutes.add(routeKey);
    for (const hostname of hostnames) {
      for (const rule of t.rules) {
        for (const { matchIndex, ir } of rule.routes) listener.routes.push({ hostname, route, ruleIndex: rule.ruleIndex, matchIndex, ir });
      }
    }
  }
  for (const [name, ref] of t.backends) backends.set(name, ref);
}

function parentStatus(
  ctx: TranslationContext, route: HTTPRoute, ref: ParentReference, t: RouteTranslation, attachment: Attachment,
): RouteParentStatus {
  const g = route.metadata.generation;
  const notAccepted = attachment.problem ?? t.routeProblem;
  const conditions: Condition[] = [
    conditionFrom(ConditionType.Accepted, notAccepted, RouteReason.Accepted, 'The route is accepted', g),
    conditionFrom(ConditionType.ResolvedRefs, t.refProblem, RouteReason.ResolvedRefs, 'All references are resolved', g),
  ];
  if (!notAccepted && t.invalidRules.length > 0) {
    conditions.push(condition(ConditionType.PartiallyInvalid, 'True', RouteReason.UnsupportedValue, `Dropped Rule(s): ${t.invalidRules.join('; ')}`, g));
  }
  return { parentRef: echoParentRef(ref), controllerName: ctx.options.controllerName, conditions };
}

/** The parentRef as the API server stores it (group and kind defaulted). */
function echoParentRef(ref: ParentReference): ParentReference {
  return {
    group: ref.group ?? GATEWAY_API_GROUP,
    kind: ref.kind ?? 'Gateway',
    ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}),
    name: ref.name,
    ...(ref.sectionName !== undefined ? { sectionName: ref.sectionName } : {}),
    ...(ref.port !== undefined ? { port: ref.port } : {}),
  };
}

function routeStatus(route: HTTPRoute, parents: RouteParentStatus[]): ObjectStatus {
  return {
    apiVersion: route.apiVersion,
    kind: 'HTTPRoute',
    metadata: { namespace: namespaceOf(route), name: route.metadata.name, generation: route.metadata.generation },
    status: { parents },
  };
}
