// GatewayClass: Waygate accepts every class whose spec.controllerName is its own and ignores
// all others entirely (no status). An accepted class lists the features Waygate supports. In a
// cluster, SupportedVersion says whether the installed Gateway API CRDs are a release Waygate
// supports (supported-version.ts).
import type { Condition, GatewayClass, Snapshot } from '../api/index.ts';
import { ConditionType, GatewayClassReason, condition, conditionFrom, type Problem } from './conditions.ts';
import { list } from './fields.ts';
import { judgeInstalledVersion, type VersionVerdict } from './supported-version.ts';
import type { ObjectStatus, TranslateOptions } from './types.ts';

export interface GatewayClassResult {
  /** Names of the classes Waygate accepted. */
  readonly accepted: ReadonlySet<string>;
  readonly statuses: readonly ObjectStatus[];
}

export function processGatewayClasses(
  snapshot: Snapshot, options: TranslateOptions, features: readonly { name: string }[],
): GatewayClassResult {
  const accepted = new Set<string>();
  const statuses: ObjectStatus[] = [];
  // File mode has no cluster, so no installed CRDs: CRD manifests among the files are not read.
  const verdict = options.deployment ? judgeInstalledVersion(list(snapshot.customResourceDefinitions)) : undefined;
  for (const gc of list(snapshot.gatewayClasses)) {
    if (gc.spec?.controllerName !== options.controllerName || !gc.metadata?.name) continue;
    // The class's own problem (parametersRef) is named first: fixing the CRDs would not help it.
    const problem = validateGatewayClass(gc) ?? versionProblem(verdict);
    if (!problem) accepted.add(gc.metadata.name);
    statuses.push(gatewayClassStatus(gc, problem, features, verdict));
  }
  return { accepted, statuses };
}

/** Accepted=False, UnsupportedVersion only where even best-effort support is impossible. */
function versionProblem(verdict: VersionVerdict | undefined): Problem | undefined {
  if (!verdict || verdict.bestEffort) return undefined;
  return { reason: GatewayClassReason.UnsupportedVersion, message: verdict.message };
}

function validateGatewayClass(gc: GatewayClass): Problem | undefined {
  const ref = gc.spec.parametersRef;
  if (ref === undefined) return undefined;
  return {
    reason: GatewayClassReason.InvalidParameters,
    message: `spec.parametersRef: ${ref?.group ?? ''}/${ref?.kind ?? ''} ${ref?.name ?? ''} is not supported; Waygate takes no GatewayClass parameters`,
  };
}

function gatewayClassStatus(
  gc: GatewayClass, problem: Problem | undefined, features: readonly { name: string }[], verdict: VersionVerdict | undefined,
): ObjectStatus {
  const generation = gc.metadata.generation;
  return {
    apiVersion: gc.apiVersion,
    kind: 'GatewayClass',
    metadata: { name: gc.metadata.name, generation },
    status: {
      conditions: [
        conditionFrom(ConditionType.Accepted, problem, GatewayClassReason.Accepted, 'The GatewayClass is accepted', generation),
        supportedVersion(verdict, generation),
      ],
      ...(problem ? {} : { supportedFeatures: features }),
    },
  };
}

/**
 * SupportedVersion, set on every class Waygate has a say on. Without installed CRDs to judge
 * (file mode; an offline translation given no CRD manifests) nothing unsupported is detected, and
 * the version Waygate implements is the one it reports.
 */
function supportedVersion(verdict: VersionVerdict | undefined, generation: number | undefined): Condition {
  if (!verdict) return condition(ConditionType.SupportedVersion, 'True', GatewayClassReason.SupportedVersion, 'Gateway API v1.6 is supported', generation);
  return verdict.supported
    ? condition(ConditionType.SupportedVersion, 'True', GatewayClassReason.SupportedVersion, verdict.message, generation)
    : condition(ConditionType.SupportedVersion, 'False', GatewayClassReason.UnsupportedVersion, verdict.message, generation);
}
