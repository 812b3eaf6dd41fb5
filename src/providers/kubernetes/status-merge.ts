// Pure: what the status of an object should be, given what the API server has (live) and what
// Waygate computed (desired). The writer writes the result only when it differs from live.
//
// lastTransitionTime "should be when the underlying condition changed" (metav1.Condition): a
// condition whose status is unchanged keeps the live time, whatever time the desired status
// carries. That also keeps times stable across a leader change, since each replica's
// controller stamps its own.
import { stableStringify } from '../../util/index.ts';

export interface MergeContext {
  /** Waygate's controllerName: the `status.parents[].controllerName` of its own entries. */
  readonly controllerName: string;
  /** The object's namespace, the default of a parentRef's namespace. */
  readonly namespace?: string;
  /** RFC 3339 time for a condition that carries none. */
  readonly now: string;
}

export type StatusMerge = (live: unknown, desired: unknown, context: MergeContext) => unknown;

type Obj = Record<string, unknown>;

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** Waygate owns the whole status: the desired status, with unchanged conditions keeping their time. */
export function mergeOwnedStatus(live: unknown, desired: unknown, context: MergeContext): unknown {
  return keepTransitionTimes(desired, live, context);
}

/**
 * Route status (`status.parents`, GEP-1364 / RouteParentStatus): entries of other controllers
 * are kept as they are and where they are; Waygate's entries are replaced by the desired ones,
 * and those for parents Waygate no longer has a say on are removed ("Controllers should ensure
 * that entries to status populated with their ControllerName are cleaned up when they are no
 * longer necessary"). New entries go last, so a write changes no other entry's position.
 */
export function mergeRouteParents(live: unknown, desired: unknown, context: MergeContext): unknown {
  const ours = (p: Obj) => p.controllerName === context.controllerName;
  const liveParents = parentsOf(live);
  const wanted = new Map(parentsOf(desired).filter(ours).map((p) => [parentKey(p, context.namespace), p]));
  const placed = new Set<string>();
  const parents: unknown[] = [];
  for (const p of liveParents) {
    if (!ours(p)) {
      parents.push(p);
      continue;
    }
    const key = parentKey(p, context.namespace);
    const want = wanted.get(key);
    if (want && !placed.has(key)) {
      parents.push(keepTransitionTimes(want, p, context));
      placed.add(key);
    }
  }
  for (const [key, want] of wanted) if (!placed.has(key)) parents.push(keepTransitionTimes(want, undefined, context));
  if (!isObject(live) && parents.length === 0) return live;
  return { ...(isObject(live) ? live : {}), parents };
}

/**
 * Policy status (`status.ancestors`, GEP-713 PolicyAncestorStatus): a map keyed by ancestorRef
 * and controllerName. Entries of other controllers stay as they are and where they are;
 * Waygate's are replaced by the desired ones, dropped when no longer computed, and new ones go
 * last.
 */
export function mergePolicyAncestors(live: unknown, desired: unknown, context: MergeContext): unknown {
  const ours = (a: Obj) => a.controllerName === context.controllerName;
  const wanted = new Map(ancestorsOf(desired).filter(ours).map((a) => [ancestorKey(a, context.namespace), a]));
  const placed = new Set<string>();
  const ancestors: unknown[] = [];
  for (const a of ancestorsOf(live)) {
    if (!ours(a)) {
      ancestors.push(a);
      continue;
    }
    const key = ancestorKey(a, context.namespace);
    const want = wanted.get(key);
    if (want && !placed.has(key)) {
      ancestors.push(keepTransitionTimes(want, a, context));
      placed.add(key);
    }
  }
  for (const [key, want] of wanted) if (!placed.has(key)) ancestors.push(keepTransitionTimes(want, undefined, context));
  return { ...(isObject(live) ? live : {}), ancestors };
}

function ancestorsOf(status: unknown): Obj[] {
  const ancestors = isObject(status) ? status.ancestors : undefined;
  return Array.isArray(ancestors) ? ancestors.filter(isObject) : [];
}

/** An ancestorRef with its defaults filled in (a ParentReference, like a route's parentRef). */
function ancestorKey(entry: Obj, namespace: string | undefined): string {
  return referenceKey(entry.ancestorRef, namespace);
}

/** Equal as the API server would store them (key order and undefined fields do not count). */
export function sameStatus(a: unknown, b: unknown): boolean {
  return stableStringify(a ?? null) === stableStringify(b ?? null);
}

/**
 * Walk desired and live side by side (conditions matched by type, listeners by name, route
 * parents by parentRef) and keep live's lastTransitionTime where a condition's status stayed.
 */
export function keepTransitionTimes(desired: unknown, live: unknown, context: MergeContext): unknown {
  if (Array.isArray(desired)) {
    const liveItems = Array.isArray(live) ? live : [];
    return desired.map((d, i) => keepTransitionTimes(d, counterpart(d, liveItems, i, context), context));
  }
  if (!isObject(desired)) return desired;
  if (isCondition(desired)) {
    const keep = isObject(live) && live.status === desired.status && typeof live.lastTransitionTime === 'string';
    const time = keep ? live.lastTransitionTime : desired.lastTransitionTime ?? context.now;
    return { ...desired, lastTransitionTime: time };
  }
  const out: Obj = {};
  for (const [k, v] of Object.entries(desired)) out[k] = keepTransitionTimes(v, isObject(live) ? live[k] : undefined, context);
  return out;
}

function counterpart(item: unknown, live: readonly unknown[], index: number, context: MergeContext): unknown {
  if (!isObject(item)) return live[index];
  const key = identity(item, context);
  if (key === undefined) return live[index];
  return live.find((l) => isObject(l) && identity(l, context) === key);
}

function identity(item: Obj, context: MergeContext): string | undefined {
  if (isCondition(item)) return `condition:${String(item.type)}`;
  if (isObject(item.parentRef)) return `parent:${String(item.controllerName)}:${parentKey(item, context.namespace)}`;
  if (isObject(item.ancestorRef)) return `ancestor:${String(item.controllerName)}:${ancestorKey(item, context.namespace)}`;
  if (typeof item.name === 'string') return `name:${item.name}`;
  return undefined;
}

function isCondition(v: Obj): boolean {
  return typeof v.type === 'string' && typeof v.status === 'string' && ('reason' in v || 'lastTransitionTime' in v);
}

function parentsOf(status: unknown): Obj[] {
  const parents = isObject(status) ? status.parents : undefined;
  return Array.isArray(parents) ? parents.filter(isObject) : [];
}

/** A parentRef with its defaults filled in (group, kind, and the route's namespace). */
function parentKey(parent: Obj, namespace: string | undefined): string {
  return referenceKey(parent.parentRef, namespace);
}

/** A ParentReference with the spec's defaults: group and kind of a Gateway, the referrer's namespace. */
function referenceKey(reference: unknown, namespace: string | undefined): string {
  const ref = isObject(reference) ? reference : {};
  return stableStringify({
    group: ref.group ?? GATEWAY_GROUP,
    kind: ref.kind ?? 'Gateway',
    namespace: ref.namespace ?? namespace,
    name: ref.name,
    sectionName: ref.sectionName,
    port: ref.port,
  });
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
