// HTTPRouteRule.sessionPersistence: the endpoint a request's session names, looked up across the
// rule's backends before any weighted choice (proxy.ts, and upgrade.ts for WebSocket handshakes).
import type { ChoiceState } from './balancer.ts';
import { SESSION_MODE, type Endpoint } from './lb/index.ts';

/** The choice whose backend holds the endpoint tagged `tag`, still usable for a session (serving, even terminating), and that endpoint. */
export function sessionChoice(choices: readonly ChoiceState[], tag: string): { readonly choice: ChoiceState; readonly endpoint: Endpoint } | undefined {
  for (let i = 0; i < choices.length; i++) {
    const endpoint = choices[i].backend?.sessions().findUsable(tag, SESSION_MODE);
    if (endpoint !== undefined) return { choice: choices[i], endpoint };
  }
  return undefined;
}
