// GatewayClass: Waygate accepts every class whose spec.controllerName is its own and ignores
// all others entirely (no status). An accepted class lists the features Waygate supports.
import type { GatewayClass } from '../api/index.ts';
import { ConditionType, GatewayClassReason, condition, conditionFrom, type Problem } from './conditions.ts';
import type { ObjectStatus } from './types.ts';

export interface GatewayClassResult {
  /** Names of the classes Waygate accepted. */
  readonly accepted: ReadonlySet<string>;
  readonly statuses: readonly ObjectStatus[];
}

export function processGatewayClasses(
  classes: readonly GatewayClass[], controllerName: string, features: readonly { name: string }[],
): GatewayClassResult {
  const accepted = new Set<string>();
  const statuses: ObjectStatus[] = [];
  for (const gc of classes) {
    if (gc.spec?.controllerName !== controllerName || !gc.metadata?.name) continue;
    const problem = validateGatewayClass(gc);
    if (!problem) accepted.add(gc.metadata.name);
    statuses.push(gatewayClassStatus(gc, problem, features));
  }
  return { accepted, statuses };
}

function validateGatewayClass(gc: GatewayClass): Problem | undefined {
  const ref = gc.spec.parametersRef;
  if (ref === undefined) return undefined;
  return {
    reason: GatewayClassReason.InvalidParameters,
    message: `spec.parametersRef: ${ref?.group ?? ''}/${ref?.kind ?? ''} ${ref?.name ?? ''} is not supported; Waygate takes no GatewayClass parameters`,
  };
}

function gatewayClassStatus(gc: GatewayClass, problem: Problem | undefined, features: readonly { name: string }[]): ObjectStatus {
  const generation = gc.metadata.generation;
  return {
    apiVersion: gc.apiVersion,
    kind: 'GatewayClass',
    metadata: { name: gc.metadata.name, generation },
    status: {
      conditions: [
        conditionFrom(ConditionType.Accepted, problem, GatewayClassReason.Accepted, 'The GatewayClass is accepted', generation),
        // Waygate reads the objects as Gateway API v1.6 and cannot see the installed CRDs' bundle
        // version (file mode has none; in a cluster the provider does not read CRDs yet), so the
        // version it implements is the one it reports (implementer's guide, Version Compatibility).
        condition(ConditionType.SupportedVersion, 'True', GatewayClassReason.SupportedVersion, 'Gateway API v1.6 is supported', generation),
      ],
      ...(problem ? {} : { supportedFeatures: features }),
    },
  };
}
