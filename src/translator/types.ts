import type { IR } from '../ir/index.ts';

export interface TranslateOptions {
  /** GatewayClasses whose spec.controllerName equals this are Waygate's. */
  readonly controllerName: string;
  /** Where the listeners of a Gateway without spec.addresses bind (e.g. "0.0.0.0"). */
  readonly listenAddress: string;
}

/** The computed status of one object, as `/api/status` and `waygate translate` show it. */
export interface ObjectStatus {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly namespace?: string; readonly name: string; readonly generation?: number };
  readonly status: unknown;
}

export interface TranslateResult {
  readonly ir: IR;
  /** One entry per GatewayClass, Gateway and HTTPRoute Waygate has a say on, sorted by kind then key. */
  readonly statuses: readonly ObjectStatus[];
}
