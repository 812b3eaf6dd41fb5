// Sockets: every programmable listener binds on each of its Gateway's addresses. Listeners of
// different Gateways on the same address:port share one bind (isolated by hostname); when two
// of them claim the same hostname there, the older Gateway keeps it and the other listener is
// Conflicted (HostnameConflict) and not programmed. HTTP and HTTPS never share a socket (one
// speaks TLS, the other not): a listener of a newer Gateway whose protocol differs from the one
// already on the address:port is Conflicted (ProtocolConflict), as it would be within one
// Gateway; the older Gateway keeps the port. In Kubernetes mode a listener binds its
// Gateway's container port for its port instead, so Gateways never share a bind.
import { bindName } from '../ir/index.ts';
import { ListenerReason } from './conditions.ts';
import { isListenerProgrammable, type GatewayState, type ListenerState } from './model.ts';
import { compareAge } from './precedence.ts';

export interface BindPlan {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** The protocol of the listeners on this socket (the oldest Gateway's). */
  readonly protocol: 'HTTP' | 'HTTPS';
  /** Hostname (`''` for none) to the listener that holds it on this socket. */
  readonly listeners: Map<string, ListenerState>;
}

export function planBinds(gateways: readonly GatewayState[]): Map<string, BindPlan> {
  const binds = new Map<string, BindPlan>();
  const byAge = [...gateways].sort((a, b) => compareAge(a.gateway, b.gateway));
  for (const gateway of byAge) {
    for (const listener of gateway.listeners) {
      if (!isListenerProgrammable(listener)) continue;
      const protocolClash = findProtocolClash(binds, gateway, listener);
      if (protocolClash) {
        listener.conflict = {
          reason: ListenerReason.ProtocolConflict,
          message: `${protocolClash.bind} is already used with protocol ${protocolClash.other.spec.protocol} by listener ${protocolClash.other.name} of the older Gateway ${protocolClash.other.gateway.namespace}/${protocolClash.other.gateway.name}`,
        };
        continue;
      }
      const clash = findClash(binds, gateway, listener);
      if (clash) {
        listener.conflict = {
          reason: ListenerReason.HostnameConflict,
          message: `hostname ${listener.hostname ?? '(none)'} on ${clash.bind} is already used by listener ${clash.other.name} of the older Gateway ${clash.other.gateway.namespace}/${clash.other.gateway.name}`,
        };
        continue;
      }
      for (const ip of gateway.ips) bindFor(binds, ip, bindPort(listener), listenerProtocol(listener)).listeners.set(listener.hostname ?? '', listener);
    }
  }
  return binds;
}

function findClash(
  binds: ReadonlyMap<string, BindPlan>, gateway: GatewayState, listener: ListenerState,
): { bind: string; other: ListenerState } | undefined {
  for (const ip of gateway.ips) {
    const name = bindName(ip, bindPort(listener));
    const other = binds.get(name)?.listeners.get(listener.hostname ?? '');
    if (other && other.gateway !== gateway) return { bind: name, other };
  }
  return undefined;
}

/** A listener of another Gateway on one of this listener's sockets, speaking the other protocol. */
function findProtocolClash(
  binds: ReadonlyMap<string, BindPlan>, gateway: GatewayState, listener: ListenerState,
): { bind: string; other: ListenerState } | undefined {
  for (const ip of gateway.ips) {
    const name = bindName(ip, bindPort(listener));
    const bind = binds.get(name);
    if (!bind || bind.protocol === listenerProtocol(listener)) continue;
    const other = [...bind.listeners.values()].find((l) => l.gateway !== gateway);
    if (other) return { bind: name, other };
  }
  return undefined;
}

function listenerProtocol(listener: ListenerState): 'HTTP' | 'HTTPS' {
  return listener.spec.protocol === 'HTTPS' ? 'HTTPS' : 'HTTP';
}

/** The port a listener binds: its own, or in Kubernetes mode the container port allocated for it. */
function bindPort(listener: ListenerState): number {
  return listener.gateway.service?.containerPorts.get(listener.spec.port) ?? listener.spec.port;
}

function bindFor(binds: Map<string, BindPlan>, address: string, port: number, protocol: 'HTTP' | 'HTTPS'): BindPlan {
  const name = bindName(address, port);
  let bind = binds.get(name);
  if (!bind) {
    bind = { name, address, port, protocol, listeners: new Map() };
    binds.set(name, bind);
  }
  return bind;
}
