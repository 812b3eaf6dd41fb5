// The translator's working state: what the processors learn about Gateways and listeners
// and hand to the next processor. Internal to the translator.
import type { Gateway, HTTPRoute, Listener, RouteGroupKind } from '../api/index.ts';
import type { IRCertificate, IRRoute } from '../ir/index.ts';
import type { Problem } from './conditions.ts';
import type { TranslatedRule } from './httproute-rules.ts';
import type { ListenerAttachments } from './attachment-table.ts';

export interface GatewayState {
  readonly gateway: Gateway;
  readonly namespace: string;
  readonly name: string;
  readonly generation: number | undefined;
  /** Accepted=False for the whole Gateway (malformed spec or unsupported address). */
  readonly rejected?: Problem;
  /** Accepted but cannot be programmed (unusable address). */
  readonly unusable?: Problem;
  /** Addresses the listeners bind on. */
  readonly ips: readonly string[];
  /** Kubernetes mode: IP addresses from spec.addresses, for the Service. */
  readonly requestedIps: readonly string[];
  /** Kubernetes mode: the Service is to assign an address. */
  readonly dynamicAddress: boolean;
  readonly listeners: readonly ListenerState[];
  /** Kubernetes mode: the Gateway's Service, container ports and observed addresses. */
  service?: GatewayServicePlan;
}

/** Kubernetes mode: what the Gateway's Service is and what the cluster made of it. */
export interface GatewayServicePlan {
  readonly namespace: string;
  readonly name: string;
  /** Listener port → the container port the pods bind for it. */
  readonly containerPorts: ReadonlyMap<number, number>;
  /** status.addresses, read from the observed Service. */
  readonly addresses: readonly { readonly type: string; readonly value: string }[];
  /** Programmed=False (AddressNotAssigned) while the Service lacks the address it should have. */
  readonly notAssigned?: Problem;
  /** Added to the Accepted message (e.g. an unknown waygate.dev/service-type value). */
  readonly note?: string;
}

/** Where a conflict puts a listener: it stays in status but is never programmed. */
export interface ListenerConflict {
  readonly reason: string;
  readonly message: string;
}

export interface ListenerState {
  readonly gateway: GatewayState;
  readonly spec: Listener;
  /** Listener name, or `listeners[<i>]` when the name is missing. */
  readonly name: string;
  readonly irName: string;
  readonly hostname: string | undefined;
  readonly supportedKinds: readonly RouteGroupKind[];
  /** Accepted=False (unsupported protocol, bad port, malformed fields). */
  readonly rejected?: Problem;
  /** ResolvedRefs=False (InvalidRouteKinds, InvalidCertificateRef, RefNotPermitted, …). */
  readonly unresolved?: Problem;
  /** Accepted but not programmed (an HTTPS listener without a usable certificate). */
  readonly notProgrammed?: Problem;
  /** HTTPS listeners: the valid certificates of tls.certificateRefs, in their order. */
  readonly certificates?: readonly IRCertificate[];
  /** Added to the Accepted message (what was ignored). */
  readonly note?: string;
  conflict?: ListenerConflict;
  /** Kubernetes mode: no container port is free for this listener (Accepted=False, PortUnavailable). */
  unavailable?: Problem;
  /**
   * The routes attached to this listener (counted in attachedRoutes) and their rules per
   * hostname, for the IR; set by the HTTPRoute processor (attachment-table.ts).
   */
  attached: ListenerAttachments;
}

/** The valid rules of an HTTPRoute attached to a listener for one hostname. */
export interface AttachedRules {
  /** The hostname (after intersection with the listener's) the route serves; `*` for any. */
  readonly hostname: string;
  readonly route: HTTPRoute;
  readonly rules: readonly TranslatedRule[];
}

/** One IR route of an attached HTTPRoute, with what precedence needs to order it. */
export interface AttachedRoute {
  /** The hostname (after intersection with the listener's) this route serves; `*` for any. */
  readonly hostname: string;
  readonly route: HTTPRoute;
  readonly ruleIndex: number;
  readonly matchIndex: number;
  readonly ir: IRRoute;
}

/** Whether the listener goes into the IR (and reports Programmed=True). */
export function isListenerProgrammable(listener: ListenerState): boolean {
  const gw = listener.gateway;
  return !gw.rejected && !gw.unusable && !listener.rejected && !listener.conflict && !listener.unavailable
    && !listener.notProgrammed && listener.supportedKinds.length > 0;
}
