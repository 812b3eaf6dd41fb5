// Status ordering: by kind (GatewayClass, Gateway, HTTPRoute, BackendTrafficPolicy), then namespace/name.
import { compareText } from './precedence.ts';
import type { ObjectStatus } from './types.ts';

const KIND_ORDER: readonly string[] = ['GatewayClass', 'Gateway', 'HTTPRoute', 'BackendTrafficPolicy'];

export function sortStatuses(statuses: readonly ObjectStatus[]): ObjectStatus[] {
  return [...statuses].sort((a, b) => (KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind))
    || compareText(a.metadata.namespace ?? '', b.metadata.namespace ?? '')
    || compareText(a.metadata.name, b.metadata.name));
}
