// HTTPRoute: per parentRef naming one of Waygate's Gateways, attach the route's valid rules
// to the listeners that admit it and compute the RouteParentStatus conditions.
import type { Condition, HTTPRoute, ParentReference, RouteParentStatus } from '../api/index.ts';
import { GATEWAY_API_GROUP } from '../api/index.ts';
import { ConditionType, RouteReason, condition, conditionFrom } from './conditions.ts';
import { keyOf, namespaceOf, type TranslationContext } from './context.ts';
import { immutableHash } from '../util/index.ts';
import { translateRouteRules, type RouteTranslation } from './httproute-rules.ts';
import { AttachmentTable, type RouteAttachment, type RouteRecord } from './attachment-table.ts';
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
  const states = new Map(gateways.map((g) => [keyOf(g.namespace, g.name), g]));
  // A route's outcome depends on the route, what it looks up, and the specs of the Gateways it
  // names (their listeners are built from them), so those are looked up through the context.
  const routeCtx: TranslationContext = { ...ctx, gateways: new Map(gateways.map((g) => [keyOf(g.namespace, g.name), specHash(g)])) };
  const cache = ctx.cache;
  // With a cache, the table of the last translation is updated per route whose outcome changed.
  const memo = cache ? cache.slot('httproute-attachments', () => new RouteMemo()) : new RouteMemo();
  // Nothing a route looks up changed since the last translation: an unchanged route object's
  // outcome is the one recorded then (remember() would find the same after checking more).
  const settled = cache?.unchangedSinceLast(routeCtx) ?? false;
  const statuses: ObjectStatus[] = [];
  const { table } = memo;
  memo.pass++;
  let recorded = 0;
  for (const route of routes) {
    if (!route.metadata?.name) continue;
    const outcome = outcomeOf(routeCtx, route, states, memo, settled);
    recorded++;
    if (outcome.status) statuses.push(outcome.status);
  }
  // Routes gone since the last translation (deleted, or renamed) leave the table.
  if (table.size !== recorded) table.retain((r) => memo.outcomes.get((r as RouteOutcome).route)?.pass === memo.pass);
  for (const state of gateways) {
    state.listeners.forEach((listener, i) => {
      listener.attached = table.listener(keyOf(state.namespace, state.name), i);
    });
  }
  return { statuses, backends: table.backends };
}

/** What processHttpRoutes keeps from one translation to the next. */
class RouteMemo {
  readonly table = new AttachmentTable();
  /** Each route object's outcome, and the pass it was last recorded in. */
  readonly outcomes = new WeakMap<HTTPRoute, { outcome: RouteOutcome; pass: number }>();
  pass = 0;
}

function outcomeOf(
  routeCtx: TranslationContext, route: HTTPRoute, states: ReadonlyMap<string, GatewayState>, memo: RouteMemo, settled: boolean,
): RouteOutcome {
  const cache = routeCtx.cache;
  const known = memo.outcomes.get(route);
  // Recorded in the last pass, and nothing it looked up changed since: the table has it already.
  if (settled && known !== undefined && known.pass === memo.pass - 1) {
    known.pass = memo.pass;
    return known.outcome;
  }
  const outcome = cache ? cache.remember('route', route, routeCtx, (c) => processRoute(c, route, states)) : processRoute(routeCtx, route, states);
  memo.outcomes.set(route, { outcome, pass: memo.pass });
  memo.table.record(outcome);
  return outcome;
}

function specHash(state: GatewayState): string {
  const spec: unknown = state.gateway.spec;
  return spec !== null && typeof spec === 'object' ? immutableHash(spec) : 'none';
}

/** What processing a route yields, as data: its status and where its valid rules attach. */
interface RouteOutcome extends RouteRecord {
  readonly route: HTTPRoute;
  readonly status?: ObjectStatus;
}

function processRoute(ctx: TranslationContext, route: HTTPRoute, states: ReadonlyMap<string, GatewayState>): RouteOutcome {
  const routeKey = keyOf(namespaceOf(route), route.metadata.name);
  const refs = Array.isArray(route.spec?.parentRefs) ? route.spec.parentRefs : [];
  const ours = refs.map((ref) => ({ ref, key: gatewayKeyOf(ctx, route, ref) })).filter((p) => p.key !== undefined);
  if (ours.length === 0) return { route, routeKey, attachments: [] };
  const translation = ctx.cache ? ctx.cache.remember('rules', route, ctx, (c) => translateRouteRules(c, route)) : translateRouteRules(ctx, route);
  const attachments: RouteAttachment[] = [];
  let accepted = false;
  const parents = ours.map(({ ref, key }) => {
    const state = states.get(key!)!;
    const attachment = attachToGateway(ctx, route, ref, state, translation.hostnames);
    if (!attachment.problem && !translation.routeProblem) {
      accepted = true;
      for (const { listener, hostnames } of attachment.listeners) {
        const entries = hostnames.map((hostname) => ({ hostname, route, rules: translation.rules }));
        attachments.push({ gateway: key!, listener: state.listeners.indexOf(listener), entries });
      }
    }
    return parentStatus(ctx, route, ref, translation, attachment);
  });
  return { route, status: routeStatus(route, parents), routeKey, attachments, ...(accepted ? { backends: translation.backends } : {}) };
}

/** Only parentRefs of kind Gateway naming one of Waygate's Gateways concern Waygate: the key of that Gateway. */
function gatewayKeyOf(ctx: TranslationContext, route: HTTPRoute, ref: ParentReference): string | undefined {
  if (!ref || (ref.group ?? GATEWAY_API_GROUP) !== GATEWAY_API_GROUP || (ref.kind ?? 'Gateway') !== 'Gateway') return undefined;
  if (typeof ref.name !== 'string') return undefined;
  const key = keyOf(ref.namespace ?? namespaceOf(route), ref.name);
  return ctx.gateways?.get(key) ? key : undefined;
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
