// BackendTrafficPolicy (waygate.dev/v1alpha1, a GEP-713 direct policy attached to Services) and
// Service annotations → the IR policy of each Service port, and each policy's status.
//
// Precedence per Service port, one group of settings at a time (loadBalancer, sessionPersistence,
// zoneAware, healthCheck, outlierDetection, retries, slowStart): the policy whose targetRef names
// the port (sectionName), else the policy that targets the whole Service, else the Service's
// `waygate.dev/…` annotations; zone preference last from the Service's own topology settings.
// Between policies with the same target the oldest wins (creationTimestamp, then
// namespace/name) and the others are Accepted=False, Conflicted. Status: one PolicyAncestorStatus
// per target, whose ancestorRef is the targeted Service (README: why not the Gateways).
import type { BackendTrafficPolicy, Condition, LocalPolicyTargetReferenceWithSectionName, Service } from '../api/index.ts';
import type { IRBackendPolicy } from '../ir/index.ts';
import { contentHash } from '../util/index.ts';
import type { ServicePortRef } from './backends.ts';
import { convertBackendSettings, isObject, type BackendSettings } from './backend-settings.ts';
import { ConditionType, PolicyReason, condition, type Problem } from './conditions.ts';
import { keyOf, namespaceOf, type TranslationContext } from './context.ts';
import { list } from './fields.ts';
import { compareAge } from './precedence.ts';
import { annotationSettings, serviceAsksForZones } from './service-annotations.ts';
import type { ObjectStatus } from './types.ts';

/** PolicyStatus.ancestors holds at most 16 entries (the CRD's maxItems, as targetRefs). */
const MAX_ANCESTORS = 16;

export interface BackendPolicies {
  /** The settings of a Service port; undefined: the defaults. */
  policyOf(ref: ServicePortRef): IRBackendPolicy | undefined;
  /** One per BackendTrafficPolicy. */
  readonly statuses: readonly ObjectStatus[];
  /** The policies read: with the Services, all that `policyOf` depends on. */
  readonly inputs: readonly BackendTrafficPolicy[];
}

interface Target {
  readonly ref: Required<Omit<LocalPolicyTargetReferenceWithSectionName, 'sectionName'>> & { readonly sectionName?: string };
  /** `namespace/service#section` for a core Service target. */
  readonly key: string;
  readonly problem?: Problem;
}

interface PolicyState {
  readonly policy: BackendTrafficPolicy;
  readonly namespace: string;
  readonly name: string;
  readonly settings: BackendSettings;
  /** Accepted=False, Invalid: the policy applies nowhere. */
  readonly invalid?: string;
  readonly targets: readonly Target[];
}

type Candidates = ReadonlyMap<string, readonly PolicyState[]>;

export function resolveBackendPolicies(ctx: TranslationContext, policies: readonly BackendTrafficPolicy[]): BackendPolicies {
  const states = policies.filter((p) => typeof p?.metadata?.name === 'string').map((p) => policyState(ctx, p));
  const candidates = electByTarget(states);
  return {
    statuses: states.map((s) => policyStatus(ctx, s, candidates)),
    policyOf: (ref) => portPolicy(ctx, ref, candidates),
    inputs: policies,
  };
}

function targetKey(namespace: string, service: string, section: string | undefined): string {
  return `${keyOf(namespace, service)}#${section ?? ''}`;
}

function policyState(ctx: TranslationContext, policy: BackendTrafficPolicy): PolicyState {
  const namespace = namespaceOf(policy);
  const spec: unknown = policy.spec;
  const { settings, errors } = convertBackendSettings(spec, 'spec');
  const refs = isObject(spec) ? list(spec.targetRefs as LocalPolicyTargetReferenceWithSectionName[]) : [];
  const problems = errors.map((e) => e.message);
  if (refs.length === 0) problems.unshift('spec.targetRefs: at least one target is required');
  const invalid = problems.length > 0 ? problems.join('; ') : undefined;
  return { policy, namespace, name: policy.metadata.name, settings, invalid, targets: targetsOf(ctx, namespace, refs) };
}

/** The distinct targetRefs (at most 16), each with what is wrong with it. */
function targetsOf(ctx: TranslationContext, namespace: string, refs: readonly LocalPolicyTargetReferenceWithSectionName[]): Target[] {
  const out: Target[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of refs.entries()) {
    const r: Partial<LocalPolicyTargetReferenceWithSectionName> = isObject(raw) ? raw : {};
    const ref = {
      group: typeof r.group === 'string' ? r.group : '',
      kind: typeof r.kind === 'string' ? r.kind : 'Service',
      name: typeof r.name === 'string' ? r.name : '',
      ...(typeof r.sectionName === 'string' && r.sectionName !== '' ? { sectionName: r.sectionName } : {}),
    };
    const id = JSON.stringify(ref);
    if (seen.has(id) || out.length >= MAX_ANCESTORS) continue;
    seen.add(id);
    const problem = targetProblem(ctx, namespace, ref, `spec.targetRefs[${i}]`);
    out.push(problem ? { ref, key: '', problem } : { ref, key: targetKey(namespace, ref.name, ref.sectionName) });
  }
  return out;
}

function targetProblem(ctx: TranslationContext, namespace: string, ref: Target['ref'], field: string): Problem | undefined {
  if (ref.group !== '' || ref.kind !== 'Service') {
    return { reason: PolicyReason.Invalid, message: `${field}: only a core Service (group "", kind Service) can be targeted, not ${ref.group || 'core'}/${ref.kind}` };
  }
  if (ref.name === '') return { reason: PolicyReason.Invalid, message: `${field}.name is required` };
  const service = ctx.services.get(keyOf(namespace, ref.name));
  if (!service) return { reason: PolicyReason.TargetNotFound, message: `Service ${namespace}/${ref.name} not found` };
  if (ref.sectionName !== undefined && !list(service.spec?.ports).some((p) => p?.name === ref.sectionName)) {
    return { reason: PolicyReason.TargetNotFound, message: `Service ${namespace}/${ref.name} has no port named ${ref.sectionName}` };
  }
  return undefined;
}

/** Valid policies by target, oldest first: the first one applies. */
function electByTarget(states: readonly PolicyState[]): Candidates {
  const out = new Map<string, PolicyState[]>();
  for (const s of states) {
    if (s.invalid !== undefined) continue;
    for (const t of s.targets) {
      if (t.problem) continue;
      const list = out.get(t.key);
      if (list) list.push(s);
      else out.set(t.key, [s]);
    }
  }
  for (const list of out.values()) list.sort((a, b) => compareAge(a.policy, b.policy));
  return out;
}

function portPolicy(ctx: TranslationContext, ref: ServicePortRef, candidates: Candidates): IRBackendPolicy | undefined {
  const service = ctx.services.get(keyOf(ref.namespace, ref.name));
  if (!service) return undefined;
  const portName = list(service.spec?.ports).find((p) => p?.port === ref.port)?.name;
  const named = portName ? candidates.get(targetKey(ref.namespace, ref.name, portName))?.[0] : undefined;
  const chosen = named ?? candidates.get(targetKey(ref.namespace, ref.name, undefined))?.[0];
  if (chosen === undefined) return servicePolicy(service, ref);
  return buildPolicy({ ...annotatedSettings(service), ...chosen.settings }, service, ref);
}

/**
 * The policy of a port from its Service alone (no BackendTrafficPolicy applies), the same object
 * for the same Service object (never mutated), so an unchanged backend stays the same IR object.
 */
const servicePolicies = new WeakMap<Service, Map<string, IRBackendPolicy | undefined>>();

function servicePolicy(service: Service, ref: ServicePortRef): IRBackendPolicy | undefined {
  let byPort = servicePolicies.get(service);
  if (byPort === undefined) {
    byPort = new Map();
    servicePolicies.set(service, byPort);
  }
  const key = `${ref.namespace}/${ref.name}/${ref.port}`;
  if (byPort.has(key)) return byPort.get(key);
  const policy = buildPolicy(annotatedSettings(service), service, ref);
  byPort.set(key, policy);
  return policy;
}

/** A bad annotation leaves its group out (and only it): there is no status to report it on. */
function annotatedSettings(service: Service): BackendSettings {
  return convertBackendSettings(annotationSettings(service), 'metadata.annotations').settings;
}

/** The IR policy from merged settings, with the defaults that depend on the port. */
function buildPolicy(s: BackendSettings, service: Service, ref: ServicePortRef): IRBackendPolicy | undefined {
  const zone = s.zone ?? (serviceAsksForZones(service) ? { minEndpoints: 1 } : undefined);
  const policy: IRBackendPolicy = {
    ...(s.loadBalancer ? { loadBalancer: s.loadBalancer.type } : {}),
    ...(s.loadBalancer?.hashKey ? { hashKey: s.loadBalancer.hashKey } : {}),
    ...(s.stickySession ? { stickySession: { ...s.stickySession, cookieName: s.stickySession.cookieName ?? defaultCookieName(ref) } } : {}),
    ...(zone !== undefined && zone !== 'off' ? { zone } : {}),
    ...(s.retries ? { retries: s.retries } : {}),
    ...(s.slowStart ? { slowStart: s.slowStart } : {}),
    ...(s.healthCheck ? { healthCheck: s.healthCheck } : {}),
    ...(s.outlierDetection ? { outlierDetection: s.outlierDetection } : {}),
  };
  return Object.keys(policy).length > 0 ? policy : undefined;
}

/** Unique per Service port, so that two sticky Services behind one host never share a cookie. */
function defaultCookieName(ref: ServicePortRef): string {
  return `waygate-${contentHash(`${ref.namespace}/${ref.name}/${ref.port}`).slice(0, 12)}`;
}

function policyStatus(ctx: TranslationContext, s: PolicyState, candidates: Candidates): ObjectStatus {
  const generation = s.policy.metadata.generation;
  const ancestors = s.targets.map((t) => ({
    ancestorRef: { group: t.ref.group, kind: t.ref.kind, namespace: s.namespace, name: t.ref.name, ...(t.ref.sectionName ? { sectionName: t.ref.sectionName } : {}) },
    controllerName: ctx.options.controllerName,
    conditions: [acceptedCondition(ctx, s, t, candidates, generation)],
  }));
  return {
    apiVersion: s.policy.apiVersion,
    kind: 'BackendTrafficPolicy',
    metadata: { namespace: s.namespace, name: s.name, generation },
    status: { ancestors },
  };
}

function acceptedCondition(ctx: TranslationContext, s: PolicyState, t: Target, candidates: Candidates, g: number | undefined): Condition {
  if (s.invalid !== undefined) return condition(ConditionType.Accepted, 'False', PolicyReason.Invalid, s.invalid, g);
  if (t.problem) return condition(ConditionType.Accepted, 'False', t.problem.reason, t.problem.message, g);
  const winner = candidates.get(t.key)![0];
  if (winner !== s) {
    const what = t.ref.sectionName ? `port ${t.ref.sectionName} of Service ${s.namespace}/${t.ref.name}` : `Service ${s.namespace}/${t.ref.name}`;
    return condition(ConditionType.Accepted, 'False', PolicyReason.Conflicted, `BackendTrafficPolicy ${winner.namespace}/${winner.name} is older and also targets ${what}; it applies instead`, g);
  }
  return condition(ConditionType.Accepted, 'True', PolicyReason.Accepted, acceptedMessage(ctx, s, t, candidates), g);
}

/** Names the ports where a policy naming the port (sectionName) applies instead of this one. */
function acceptedMessage(ctx: TranslationContext, s: PolicyState, t: Target, candidates: Candidates): string {
  if (t.ref.sectionName) return 'The policy is accepted';
  const ports = list(ctx.services.get(keyOf(s.namespace, t.ref.name))?.spec?.ports);
  const overridden = ports.flatMap((p) => {
    const named = p?.name ? candidates.get(targetKey(s.namespace, t.ref.name, p.name))?.[0] : undefined;
    return named ? [`${p.name} (${named.namespace}/${named.name})`] : [];
  });
  if (overridden.length === 0) return 'The policy is accepted';
  return `The policy is accepted; on these ports a policy that names the port applies instead: ${overridden.join(', ')}`;
}
