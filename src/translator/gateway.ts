// Gateway: which Gateways are Waygate's, their validation and addresses, and their status.
import type { Condition, Gateway } from '../api/index.ts';
import { resolveGatewayAddresses } from './addresses.ts';
import {
  ConditionType, GatewayReason, ListenerReason, condition, conditionFrom, type Problem,
} from './conditions.ts';
import { namespaceOf, type TranslationContext } from './context.ts';
import { buildListenerStates } from './listeners.ts';
import { isListenerProgrammable, type GatewayState, type ListenerState } from './model.ts';
import type { ObjectStatus } from './types.ts';

/** Gateways whose class Waygate accepted; the others (and missing classes) are ignored. */
export function processGateways(
  ctx: TranslationContext, gateways: readonly Gateway[], acceptedClasses: ReadonlySet<string>,
): GatewayState[] {
  return gateways
    .filter((gw) => gw.metadata?.name && acceptedClasses.has(gw.spec?.gatewayClassName))
    .map((gw) => buildGatewayState(ctx, gw));
}

function buildGatewayState(ctx: TranslationContext, gateway: Gateway): GatewayState {
  const listeners = Array.isArray(gateway.spec?.listeners) ? gateway.spec.listeners : [];
  const addresses = resolveGatewayAddresses(gateway, ctx.options.listenAddress, ctx.options.deployment !== undefined);
  const state: { -readonly [K in keyof GatewayState]: GatewayState[K] } = {
    gateway,
    namespace: namespaceOf(gateway),
    name: gateway.metadata.name,
    generation: gateway.metadata.generation,
    rejected: listeners.length === 0
      ? { reason: GatewayReason.Invalid, message: 'spec.listeners is required and must have at least one listener' }
      : parametersProblem(gateway) ?? addresses.unsupported,
    unusable: addresses.unusable,
    ips: addresses.ips,
    requestedIps: addresses.requested,
    dynamicAddress: addresses.dynamic,
    listeners: [],
  };
  state.listeners = buildListenerStates(ctx, state, listeners);
  return state;
}

/** spec.infrastructure.parametersRef: Waygate takes no Gateway parameters. */
function parametersProblem(gateway: Gateway): Problem | undefined {
  const ref = gateway.spec?.infrastructure?.parametersRef;
  if (ref === undefined || ref === null) return undefined;
  return {
    reason: GatewayReason.InvalidParameters,
    message: `spec.infrastructure.parametersRef: ${ref?.group ?? ''}/${ref?.kind ?? ''} ${ref?.name ?? ''} is not supported; Waygate takes no Gateway parameters`,
  };
}

export function gatewayStatus(state: GatewayState): ObjectStatus {
  const programmed = state.listeners.some(isListenerProgrammable);
  // Kubernetes mode: the addresses of the Gateway's Service; file mode: the addresses bound.
  const addresses = state.service ? state.service.addresses : state.ips.map((value) => ({ type: 'IPAddress', value }));
  const status = {
    ...(programmed && addresses.length > 0 ? { addresses } : {}),
    conditions: [gatewayAcceptedCondition(state), gatewayProgrammedCondition(state, programmed)],
    listeners: state.listeners.map(listenerStatus),
  };
  return {
    apiVersion: state.gateway.apiVersion,
    kind: 'Gateway',
    metadata: { namespace: state.namespace, name: state.name, generation: state.generation },
    status,
  };
}

function gatewayAcceptedCondition(state: GatewayState): Condition {
  const g = state.generation;
  if (state.rejected) return condition(ConditionType.Accepted, 'False', state.rejected.reason, state.rejected.message, g);
  const usable = (l: ListenerState): boolean => !l.rejected && !l.conflict && !l.unavailable && l.supportedKinds.length > 0;
  const invalid = state.listeners.filter((l) => !usable(l)).map((l) => l.name);
  const note = state.service?.note ? `; ${state.service.note}` : '';
  if (invalid.length === 0) return condition(ConditionType.Accepted, 'True', GatewayReason.Accepted, `The Gateway is accepted${note}`, g);
  const valid = state.listeners.filter(usable).map((l) => l.name);
  const message = `Invalid or conflicted listeners: ${invalid.join(', ')}; accepted listeners: ${valid.join(', ') || '(none)'}${note}`;
  return condition(ConditionType.Accepted, valid.length > 0 ? 'True' : 'False', GatewayReason.ListenersNotValid, message, g);
}

function gatewayProgrammedCondition(state: GatewayState, programmed: boolean): Condition {
  const g = state.generation;
  let problem: Problem | undefined = state.unusable;
  if (state.rejected) problem = { reason: GatewayReason.Invalid, message: 'The Gateway is not accepted' };
  else if (!problem && !programmed) problem = { reason: GatewayReason.Invalid, message: 'The Gateway has no valid listener to program' };
  else if (!problem) problem = state.service?.notAssigned;
  return conditionFrom(ConditionType.Programmed, problem, GatewayReason.Programmed, 'The Gateway is programmed', g);
}

function listenerStatus(listener: ListenerState): object {
  const g = listener.gateway.generation;
  // Conflicted listeners "must not be accepted"; Accepted=False then carries the conflict reason.
  const accepted = listener.rejected ?? listener.conflict ?? listener.unavailable;
  return {
    name: listener.name,
    supportedKinds: listener.supportedKinds,
    attachedRoutes: listener.attached.routes.size,
    conditions: [
      conditionFrom(ConditionType.Accepted, accepted, ListenerReason.Accepted, `The listener is accepted${listener.note ? `; ${listener.note}` : ''}`, g),
      listener.conflict
        ? condition(ConditionType.Conflicted, 'True', listener.conflict.reason, listener.conflict.message, g)
        : condition(ConditionType.Conflicted, 'False', ListenerReason.NoConflicts, 'No conflicts', g),
      conditionFrom(ConditionType.ResolvedRefs, listener.unresolved, ListenerReason.ResolvedRefs, 'All references are resolved', g),
      conditionFrom(ConditionType.Programmed, listenerNotProgrammed(listener), ListenerReason.Programmed, 'The listener is programmed', g),
    ],
  };
}

function listenerNotProgrammed(listener: ListenerState): Problem | undefined {
  if (isListenerProgrammable(listener)) return undefined;
  const gw = listener.gateway;
  if (!gw.rejected && !gw.unusable && !listener.rejected && !listener.conflict && !listener.unavailable && listener.notProgrammed) {
    return listener.notProgrammed;
  }
  const why = gw.rejected ? 'the Gateway is not accepted'
    : gw.unusable ? 'the Gateway addresses are not usable'
      : listener.rejected ? 'the listener is not accepted'
        : listener.conflict ? 'the listener is conflicted'
            : listener.unavailable ? 'no container port is free for it'
              : 'the listener supports no route kind';
  return { reason: ListenerReason.Invalid, message: `Not programmed: ${why}` };
}
