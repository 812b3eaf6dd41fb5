// Programmed is true only once every worker runs the configuration (architecture rule: a
// Gateway is Programmed only when every worker has acked it). The translator says what would
// be programmed; this holds it back while workers catch up and marks listeners whose socket
// could not be bound.
import type { Condition, GatewayStatus, ListenerStatus } from '../api/index.ts';
import type { IR } from '../ir/index.ts';
import type { ObjectStatus } from '../translator/index.ts';

export interface FleetView {
  readonly allLive: boolean;
  readonly newest?: string;
  readonly bindErrors: readonly { readonly name: string; readonly error: string }[];
}

export function applyFleetView(statuses: readonly ObjectStatus[], ir: IR | undefined, fleet: FleetView): ObjectStatus[] {
  const failed = failedListeners(ir, fleet);
  return statuses.map((s) => {
    if (s.kind !== 'Gateway') return s;
    const key = `gateway/${s.metadata.namespace}/${s.metadata.name}/`;
    const st = s.status as GatewayStatus;
    const listeners = st.listeners.map((l) => adjustListener(l, failed.get(key + l.name), fleet));
    const conditions = fleet.allLive ? st.conditions : st.conditions.map((c) => pending(c, fleet.newest));
    return { ...s, status: { ...st, conditions, listeners } };
  });
}

function adjustListener(l: ListenerStatus, bindError: string | undefined, fleet: FleetView): ListenerStatus {
  if (bindError) {
    const conditions = l.conditions.map((c): Condition => {
      if (c.type === 'Accepted') return { ...c, status: 'False', reason: 'PortUnavailable', message: `The listener could not bind its socket: ${bindError}` };
      if (c.type === 'Programmed') return { ...c, status: 'False', reason: 'Invalid', message: `The listener could not bind its socket: ${bindError}` };
      return c;
    });
    return { ...l, conditions };
  }
  if (fleet.allLive) return l;
  return { ...l, conditions: l.conditions.map((c) => pending(c, fleet.newest)) };
}

function pending(c: Condition, version: string | undefined): Condition {
  if (c.type !== 'Programmed' || c.status !== 'True') return c;
  return { ...c, status: 'False', reason: 'Pending', message: `Waiting for every worker to apply configuration ${version ?? ''}`.trim() };
}

function failedListeners(ir: IR | undefined, fleet: FleetView): Map<string, string> {
  const out = new Map<string, string>();
  if (!ir || fleet.bindErrors.length === 0) return out;
  const errors = new Map(fleet.bindErrors.map((e) => [e.name, e.error]));
  for (const bind of ir.binds) {
    const err = errors.get(bind.name);
    if (err) for (const l of bind.listeners) out.set(l.name, err);
  }
  return out;
}
