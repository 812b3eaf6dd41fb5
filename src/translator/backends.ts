// HTTPBackendRef resolution (kind, ReferenceGrant, Service and port) and the rule action it
// yields: weighted choices, 500 for the share of invalid refs, DirectResponse when nothing
// can be forwarded.
import { GATEWAY_API_GROUP, type BackendObjectReference, type HTTPBackendRef, type HTTPRoute, type Service } from '../api/index.ts';
import { serviceBackendName, type IRAction, type IRFilters, type IRWeightedBackend } from '../ir/index.ts';
import { RouteReason, type Problem } from './conditions.ts';
import { keyOf, namespaceOf, type TranslationContext } from './context.ts';
import { isReferenceGranted } from './reference-grants.ts';
import { list } from './fields.ts';

/** The Service port behind an IRBackend name. */
export interface ServicePortRef {
  readonly namespace: string;
  readonly name: string;
  readonly port: number;
}

/** A Service port an HTTPRoute may use, with its IR name. */
export type ResolvedServicePort = ServicePortRef & { readonly irName: string };

export interface ResolvedBackendRef {
  readonly weight: number;
  readonly backend?: ResolvedServicePort;
  readonly problem?: Problem;
  /** The backendRef's own filters (HTTPBackendRef.filters). */
  readonly filters?: IRFilters;
}

/** Status for the share of traffic that would have gone to an invalid backendRef. */
const INVALID_BACKEND_STATUS = 500;

export function resolveBackendRef(ctx: TranslationContext, route: HTTPRoute, ref: HTTPBackendRef, field: string): ResolvedBackendRef {
  const weight = ref?.weight ?? 1;
  const resolved = resolveServiceRef(ctx, route, ref, field);
  return resolved.problem ? { weight, problem: resolved.problem } : { weight, backend: resolved.backend };
}

/**
 * A BackendObjectReference of an HTTPRoute (a backendRef, or a RequestMirror's backendRef):
 * a core Service in a namespace the route may reference, with the port. Every lookup goes
 * through the context, so the translation cache sees it.
 */
export function resolveServiceRef(
  ctx: TranslationContext, route: HTTPRoute, ref: BackendObjectReference, field: string,
): { readonly backend: ResolvedServicePort; readonly problem?: undefined } | { readonly problem: Problem } {
  const problem = backendRefProblem(ctx, route, ref, field);
  if (problem) return { problem };
  const namespace = ref.namespace ?? namespaceOf(route);
  const port = ref.port as number;
  return { backend: { namespace, name: ref.name, port, irName: serviceBackendName(namespace, ref.name, port) } };
}

function backendRefProblem(ctx: TranslationContext, route: HTTPRoute, ref: BackendObjectReference, field: string): Problem | undefined {
  const group = ref?.group ?? '';
  const kind = ref?.kind ?? 'Service';
  if (typeof ref !== 'object' || ref === null) return { reason: RouteReason.BackendNotFound, message: `${field}: must be an object` };
  if (group !== '' || kind !== 'Service') {
    return { reason: RouteReason.InvalidKind, message: `${field}: ${group || 'core'}/${kind} is not a supported backend kind; only Service is` };
  }
  if (typeof ref.name !== 'string' || ref.name === '') return { reason: RouteReason.BackendNotFound, message: `${field}.name is required` };
  const routeNs = namespaceOf(route);
  const namespace = ref.namespace ?? routeNs;
  const granted = isReferenceGranted(ctx, {
    fromGroup: GATEWAY_API_GROUP, fromKind: 'HTTPRoute', fromNamespace: routeNs,
    toGroup: '', toKind: 'Service', toNamespace: namespace, toName: ref.name,
  });
  if (!granted) return { reason: RouteReason.RefNotPermitted, message: `${field}: Service ${namespace}/${ref.name} is in another namespace and no ReferenceGrant there allows the reference` };
  return servicePortProblem(ctx, namespace, ref, field);
}

function servicePortProblem(ctx: TranslationContext, namespace: string, ref: BackendObjectReference, field: string): Problem | undefined {
  const service = ctx.services.get(keyOf(namespace, ref.name));
  if (!service) return { reason: RouteReason.BackendNotFound, message: `${field}: Service ${namespace}/${ref.name} not found` };
  if (!Number.isInteger(ref.port)) return { reason: RouteReason.BackendNotFound, message: `${field}.port is required for a Service` };
  if (service.spec?.type === 'ExternalName') {
    // Its ports are informational: the backendRef's port is the one connected to.
    if (externalNameOf(service) !== undefined) return undefined;
    return { reason: RouteReason.BackendNotFound, message: `${field}: Service ${namespace}/${ref.name} is of type ExternalName and its externalName ${JSON.stringify(service.spec.externalName ?? '')} is not a DNS name` };
  }
  if (!list(service.spec?.ports).some((p) => p?.port === ref.port)) {
    return { reason: RouteReason.BackendNotFound, message: `${field}: Service ${namespace}/${ref.name} has no port ${ref.port}` };
  }
  return undefined;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * The DNS name of an ExternalName Service, lower case and without a trailing dot, when it is
 * an RFC 1123 subdomain (at most 253 characters), as Kubernetes validates it; else undefined.
 */
export function externalNameOf(service: Service): string | undefined {
  const raw = service.spec?.externalName;
  if (typeof raw !== 'string') return undefined;
  const name = raw.toLowerCase().replace(/\.$/, '');
  if (name === '' || name.length > 253 || !name.split('.').every((l) => DNS_LABEL.test(l))) return undefined;
  return name;
}

/**
 * The action of a rule from its resolved backendRefs (HTTPRouteRule.backendRefs): choices of
 * weight 0 are left out; an invalid ref keeps its share as a 500. When nothing is left to
 * forward (no backendRefs, every ref invalid, or every weight 0) every request gets a 500.
 * A valid ref's own filters go with its choice.
 */
export function buildRuleAction(refs: readonly ResolvedBackendRef[]): IRAction {
  const choices: IRWeightedBackend[] = refs
    .filter((r) => Number.isInteger(r.weight) && r.weight > 0)
    .map((r) => (r.backend ? weightedBackend(r.weight, r.backend.irName, r.filters) : { weight: r.weight, status: INVALID_BACKEND_STATUS }));
  if (!choices.some((c) => c.backend !== undefined)) return { type: 'DirectResponse', status: INVALID_BACKEND_STATUS };
  return { type: 'Forward', backends: choices };
}

function weightedBackend(weight: number, backend: string, filters: IRFilters | undefined): IRWeightedBackend {
  return filters ? { weight, backend, filters } : { weight, backend };
}
