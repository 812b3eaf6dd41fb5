import { hostPort } from '../util/index.ts';

// Stable hierarchical names for IR elements: they survive unrelated changes, so the data plane
// can keep what did not change and logs and metrics can name what they concern.

export function bindName(address: string, port: number): string {
  return hostPort(address, port);
}

export function listenerName(namespace: string, gateway: string, listener: string): string {
  return `gateway/${namespace}/${gateway}/${listener}`;
}

export function routeMatchName(kind: string, namespace: string, name: string, rule: number, match: number): string {
  return `${kind.toLowerCase()}/${namespace}/${name}/rule/${rule}/match/${match}`;
}

export function serviceBackendName(namespace: string, name: string, port: number): string {
  return `service/${namespace}/${name}/${port}`;
}
