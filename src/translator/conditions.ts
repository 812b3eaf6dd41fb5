// Condition types and reasons, spelled as the Gateway API v1.6 constants spell them
// (apis/v1 gatewayclass_types.go, gateway_types.go, shared_types.go).
import type { Condition, ConditionStatus } from '../api/index.ts';

export const ConditionType = {
  Accepted: 'Accepted',
  SupportedVersion: 'SupportedVersion',
  Programmed: 'Programmed',
  Conflicted: 'Conflicted',
  ResolvedRefs: 'ResolvedRefs',
  PartiallyInvalid: 'PartiallyInvalid',
} as const;

export const GatewayClassReason = {
  Accepted: 'Accepted',
  InvalidParameters: 'InvalidParameters',
  SupportedVersion: 'SupportedVersion',
  UnsupportedVersion: 'UnsupportedVersion',
} as const;

export const GatewayReason = {
  Accepted: 'Accepted',
  ListenersNotValid: 'ListenersNotValid',
  Invalid: 'Invalid',
  InvalidParameters: 'InvalidParameters',
  UnsupportedAddress: 'UnsupportedAddress',
  Programmed: 'Programmed',
  AddressNotUsable: 'AddressNotUsable',
  AddressNotAssigned: 'AddressNotAssigned',
} as const;

export const ListenerReason = {
  Accepted: 'Accepted',
  PortUnavailable: 'PortUnavailable',
  UnsupportedProtocol: 'UnsupportedProtocol',
  HostnameConflict: 'HostnameConflict',
  ProtocolConflict: 'ProtocolConflict',
  NoConflicts: 'NoConflicts',
  ResolvedRefs: 'ResolvedRefs',
  InvalidRouteKinds: 'InvalidRouteKinds',
  InvalidCertificateRef: 'InvalidCertificateRef',
  RefNotPermitted: 'RefNotPermitted',
  /** Gateway.spec.tls.frontend (client certificate validation), on the HTTPS listeners it targets. */
  InvalidCACertificateKind: 'InvalidCACertificateKind',
  NoValidCACertificate: 'NoValidCACertificate',
  Programmed: 'Programmed',
  Invalid: 'Invalid',
  /**
   * Programmed=False on an HTTPS listener without enough TLS configuration (no certificateRefs):
   * the implementer's guide, "Overall Guidelines for TLS Extensions", point 3.
   */
  InvalidTLSConfig: 'InvalidTLSConfig',
} as const;

export const RouteReason = {
  Accepted: 'Accepted',
  NotAllowedByListeners: 'NotAllowedByListeners',
  NoMatchingListenerHostname: 'NoMatchingListenerHostname',
  NoMatchingParent: 'NoMatchingParent',
  UnsupportedValue: 'UnsupportedValue',
  ResolvedRefs: 'ResolvedRefs',
  RefNotPermitted: 'RefNotPermitted',
  InvalidKind: 'InvalidKind',
  BackendNotFound: 'BackendNotFound',
} as const;

/** Reasons of a policy's Accepted condition (GEP-713, apis/v1alpha2 PolicyConditionReason). */
export const PolicyReason = {
  Accepted: 'Accepted',
  Conflicted: 'Conflicted',
  Invalid: 'Invalid',
  TargetNotFound: 'TargetNotFound',
} as const;

/** Why something is not as asked: a spec reason and a message naming the object or field. */
export interface Problem {
  readonly reason: string;
  readonly message: string;
}

export function condition(
  type: string, status: ConditionStatus, reason: string, message: string, generation: number | undefined,
): Condition {
  return generation === undefined
    ? { type, status, reason, message }
    : { type, status, reason, message, observedGeneration: generation };
}

/** A True condition when `problem` is absent, otherwise a False one carrying it. */
export function conditionFrom(
  type: string, problem: Problem | undefined, okReason: string, okMessage: string, generation: number | undefined,
): Condition {
  return problem
    ? condition(type, 'False', problem.reason, problem.message, generation)
    : condition(type, 'True', okReason, okMessage, generation);
}
