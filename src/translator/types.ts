import type { ObjectStatus, Service } from '../api/index.ts';
import type { IR } from '../ir/index.ts';
export type { ObjectStatus } from '../api/index.ts';

export interface TranslateOptions {
  /** GatewayClasses whose spec.controllerName equals this are Waygate's. */
  readonly controllerName: string;
  /**
   * Where listeners bind: in file mode, the address of Gateways without spec.addresses (e.g.
   * "0.0.0.0"); in Kubernetes mode, the address of every container port.
   */
  readonly listenAddress: string;
  /** How Gateways map to pods and addresses; absent: file mode (docs/design/gateway-deployment.md). */
  readonly deployment?: KubernetesDeployment;
}

export type GatewayServiceType = 'LoadBalancer' | 'NodePort' | 'ClusterIP';

/**
 * Kubernetes mode: a shared fleet of proxy pods; each Gateway gets a Service selecting them, and
 * each of its listener ports a container port of its own.
 */
export interface KubernetesDeployment {
  readonly kind: 'kubernetes';
  /** Namespace of the proxy pods, where the generated Services live. */
  readonly namespace: string;
  /** Labels of the proxy pods: the selector of every generated Service. */
  readonly proxySelector: Readonly<Record<string, string>>;
  /** Type of a Gateway's Service unless its `waygate.dev/service-type` annotation says otherwise. */
  readonly serviceType: GatewayServiceType;
  /** Container ports for Gateway listeners, inclusive; default 10000-29999. */
  readonly portRange?: { readonly first: number; readonly last: number };
  /** spec.externalTrafficPolicy of LoadBalancer and NodePort Services; absent: left to the cluster. */
  readonly externalTrafficPolicy?: 'Cluster' | 'Local';
}

export interface TranslateResult {
  readonly ir: IR;
  /** One entry per GatewayClass, Gateway and HTTPRoute Waygate has a say on, sorted by kind then key. */
  readonly statuses: readonly ObjectStatus[];
  /** Kubernetes mode only: the Service each Gateway should have, sorted by name. */
  readonly services?: readonly Service[];
}
