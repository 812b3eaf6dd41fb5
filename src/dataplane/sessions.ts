// Sessions that keep a client on one endpoint: HTTPRouteRule.sessionPersistence (a session's
// endpoint is looked up across the rule's backends before any weighted choice) and a backend's
// sticky cookie. Shared by requests (proxy.ts, exchange.ts) and WebSocket handshakes (upgrade*.ts).
import type { BackendState } from './backend-state.ts';
import type { ChoiceState } from './balancer.ts';
import { SESSION_MODE, type Endpoint, type PickContext, type Session, type SessionPersistence } from './lb/index.ts';

/** The choice whose backend holds the endpoint tagged `tag`, still usable for a session (serving, even terminating), and that endpoint. */
export function sessionChoice(choices: readonly ChoiceState[], tag: string): { readonly choice: ChoiceState; readonly endpoint: Endpoint } | undefined {
  for (let i = 0; i < choices.length; i++) {
    const endpoint = choices[i].backend?.sessions().findUsable(tag, SESSION_MODE);
    if (endpoint !== undefined) return { choice: choices[i], endpoint };
  }
  return undefined;
}

/**
 * Appends to `out` the sticky cookie (`pick.sticky`: the one the client sent) and the session
 * token naming `endpoint`, the one that answered, when the client lacks them or they need renewal.
 */
export function appendSessionHeaders(
  out: string[], backend: BackendState, endpoint: Endpoint, pick: PickContext, persistence: SessionPersistence | undefined, session: Session | undefined,
): void {
  if (backend.sticky !== undefined) {
    const cookie = backend.sticky.setCookie(pick, endpoint);
    if (cookie !== undefined) out.push('set-cookie', cookie);
  }
  if (persistence !== undefined) {
    const header = persistence.responseHeader(session, backend.sessions().tagOf(endpoint));
    if (header !== undefined) out.push(header[0], header[1]);
  }
}
