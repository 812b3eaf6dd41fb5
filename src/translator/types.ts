import type { ObjectStatus } from '../api/index.ts';
import type { IR } from '../ir/index.ts';
export type { ObjectStatus } from '../api/index.ts';

export interface TranslateOptions {
  /** GatewayClasses whose spec.controllerName equals this are Waygate's. */
  readonly controllerName: string;
  /** Where the listeners of a Gateway without spec.addresses bind (e.g. "0.0.0.0"). */
  readonly listenAddress: string;
}

export interface TranslateResult {
  readonly ir: IR;
  /** One entry per GatewayClass, Gateway and HTTPRoute Waygate has a say on, sorted by kind then key. */
  readonly statuses: readonly ObjectStatus[];
}
