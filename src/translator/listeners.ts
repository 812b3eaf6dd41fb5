// Gateway listeners: field validation, allowedRoutes.kinds, and conflicts between the
// listeners of one Gateway (Gateway.spec.listeners "Distinct Listeners").
import { GATEWAY_API_GROUP, type Listener, type RouteGroupKind } from '../api/index.ts';
import { listenerName } from '../ir/index.ts';
import { ListenerReason, type Problem } from './conditions.ts';
import type { TranslationContext } from './context.ts';
import { isValidHostname } from './hostnames.ts';
import { validateLabelSelector } from './label-selector.ts';
import type { GatewayState, ListenerState } from './model.ts';
import { NO_ATTACHMENTS } from './attachment-table.ts';
import { list } from './fields.ts';
import { frontendValidationProblems } from './tls-frontend.ts';
import { resolveListenerTls } from './tls-listener.ts';

/** Protocols Waygate serves today; others (TLS, TCP, UDP, …) get Accepted=False UnsupportedProtocol. */
const SUPPORTED_PROTOCOLS: readonly string[] = ['HTTP', 'HTTPS'];
const LISTENER_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const HTTP_ROUTE_KIND: RouteGroupKind = { group: GATEWAY_API_GROUP, kind: 'HTTPRoute' };

export function buildListenerStates(ctx: TranslationContext, gateway: GatewayState, listeners: readonly Listener[]): ListenerState[] {
  const seen = new Set<string>();
  const states = listeners.map((spec, i) => buildListenerState(ctx, gateway, spec ?? ({} as Listener), i, seen));
  markListenerConflicts(states);
  return states;
}

function buildListenerState(ctx: TranslationContext, gateway: GatewayState, spec: Listener, index: number, seen: Set<string>): ListenerState {
  const name = typeof spec.name === 'string' && spec.name !== '' ? spec.name : `listeners[${index}]`;
  const field = `spec.listeners[${index}]`;
  const invalid = validateListener(spec, field, seen);
  seen.add(name);
  const kinds = resolveRouteKinds(spec, field);
  // Certificates only matter to an HTTPS listener that is otherwise acceptable.
  const tls = !invalid && spec.protocol === 'HTTPS' ? resolveListenerTls(ctx, gateway.namespace, spec, field) : undefined;
  const frontend = !invalid ? frontendValidationProblems(gateway.gateway, spec) : undefined;
  const rejected = invalid ?? tls?.rejected ?? frontend?.rejected;
  const unresolved = combineProblems([kinds.problem, tls?.unresolved, frontend?.unresolved]);
  return {
    gateway,
    spec,
    name,
    irName: listenerName(gateway.namespace, gateway.name, name),
    hostname: typeof spec.hostname === 'string' && spec.hostname !== '' ? spec.hostname : undefined,
    supportedKinds: kinds.supported,
    rejected,
    unresolved,
    ...(tls && !rejected ? { certificates: tls.certificates } : {}),
    ...(tls?.notProgrammed && !rejected ? { notProgrammed: tls.notProgrammed } : {}),
    ...(tls?.note ? { note: tls.note } : {}),
    attached: NO_ATTACHMENTS,
  };
}

// Malformed listener fields have no Accepted reason of their own in the spec; they use
// "Invalid", the reason the spec gives Programmed for a syntactically invalid listener.
function validateListener(spec: Listener, field: string, seen: ReadonlySet<string>): Problem | undefined {
  const invalid = (message: string): Problem => ({ reason: ListenerReason.Invalid, message: `${field}${message}` });
  if (typeof spec.name !== 'string' || !LISTENER_NAME_RE.test(spec.name)) return invalid('.name is required and must be a valid section name');
  if (seen.has(spec.name)) return invalid(`.name: ${spec.name} is not unique within the Gateway`);
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) {
    return { reason: ListenerReason.PortUnavailable, message: `${field}.port: ${JSON.stringify(spec.port ?? null)} is not a port number (1-65535)` };
  }
  if (typeof spec.protocol !== 'string' || spec.protocol === '') {
    return { reason: ListenerReason.UnsupportedProtocol, message: `${field}.protocol is required` };
  }
  if (!SUPPORTED_PROTOCOLS.includes(spec.protocol)) {
    return { reason: ListenerReason.UnsupportedProtocol, message: `${field}.protocol: ${spec.protocol} is not supported yet; supported: ${SUPPORTED_PROTOCOLS.join(', ')}` };
  }
  if (spec.hostname !== undefined && !isValidHostname(spec.hostname)) return invalid(`.hostname: ${JSON.stringify(spec.hostname)} is not a valid hostname`);
  if (spec.protocol === 'HTTP' && spec.tls !== undefined) return invalid(`.tls must not be set when the protocol is ${spec.protocol}`);
  return validateAllowedNamespaces(spec, field);
}

function validateAllowedNamespaces(spec: Listener, field: string): Problem | undefined {
  const namespaces = spec.allowedRoutes?.namespaces;
  const from = namespaces?.from ?? 'Same';
  const at = `${field}.allowedRoutes.namespaces`;
  if (!['All', 'Same', 'Selector', 'None'].includes(from)) {
    return { reason: ListenerReason.Invalid, message: `${at}.from: ${JSON.stringify(from)} is not one of All, Same, Selector, None` };
  }
  if (from !== 'Selector') return undefined;
  if (!namespaces?.selector) return { reason: ListenerReason.Invalid, message: `${at}.selector is required when from is Selector` };
  const error = validateLabelSelector(namespaces.selector);
  return error ? { reason: ListenerReason.Invalid, message: `${at}.selector.${error}` } : undefined;
}

/** allowedRoutes.kinds: HTTP listeners take HTTPRoute; anything else is an InvalidRouteKinds. */
function resolveRouteKinds(spec: Listener, field: string): { supported: RouteGroupKind[]; problem?: Problem } {
  if (!SUPPORTED_PROTOCOLS.includes(spec.protocol)) return { supported: [] };
  const kinds = list(spec.allowedRoutes?.kinds);
  if (kinds.length === 0) return { supported: [HTTP_ROUTE_KIND] };
  const supported: RouteGroupKind[] = [];
  const invalid: string[] = [];
  for (const k of kinds) {
    const group = k?.group ?? GATEWAY_API_GROUP;
    if (group === GATEWAY_API_GROUP && k?.kind === 'HTTPRoute') {
      if (supported.length === 0) supported.push(HTTP_ROUTE_KIND);
    } else {
      invalid.push(`${group}/${k?.kind ?? ''}`);
    }
  }
  if (invalid.length === 0) return { supported };
  return {
    supported,
    problem: { reason: ListenerReason.InvalidRouteKinds, message: `${field}.allowedRoutes.kinds: ${invalid.join(', ')} not supported on a ${spec.protocol} listener; supported: HTTPRoute` },
  };
}

/** ResolvedRefs has one reason: the first problem's; the message names them all. */
function combineProblems(problems: readonly (Problem | undefined)[]): Problem | undefined {
  const present = problems.filter((p): p is Problem => p !== undefined);
  if (present.length <= 1) return present[0];
  return { reason: present[0].reason, message: present.map((p) => p.message).join('; ') };
}

/**
 * Same port with different protocols: ProtocolConflict (UDP never conflicts with a
 * TCP-based protocol). Same port, protocol and hostname: HostnameConflict. Every listener of
 * a conflicting set is conflicted; none wins.
 */
function markListenerConflicts(listeners: readonly ListenerState[]): void {
  const candidates = listeners.filter((l) => !isMalformed(l));
  for (const listener of candidates) {
    const protocolClash = candidates.find((o) => o !== listener && o.spec.port === listener.spec.port
      && o.spec.protocol !== listener.spec.protocol && (o.spec.protocol === 'UDP') === (listener.spec.protocol === 'UDP'));
    if (protocolClash) {
      listener.conflict = { reason: ListenerReason.ProtocolConflict, message: `port ${listener.spec.port} is also used by listener ${protocolClash.name} with protocol ${protocolClash.spec.protocol}` };
      continue;
    }
    const hostnameClash = candidates.find((o) => o !== listener && o.spec.port === listener.spec.port
      && o.spec.protocol === listener.spec.protocol && o.hostname === listener.hostname);
    if (hostnameClash) {
      listener.conflict = { reason: ListenerReason.HostnameConflict, message: `listener ${hostnameClash.name} uses the same port ${listener.spec.port}, protocol ${listener.spec.protocol} and hostname ${listener.hostname ?? '(none)'}` };
    }
  }
}

/** Listeners too malformed to take part in conflict detection. */
function isMalformed(listener: ListenerState): boolean {
  const reason = listener.rejected?.reason;
  return reason === ListenerReason.Invalid || reason === ListenerReason.PortUnavailable
    || (reason === ListenerReason.UnsupportedProtocol && !listener.spec.protocol);
}
