// The translator: snapshot → { ir, statuses }, as an ordered list of processors. Pure: no
// I/O, no clock, no randomness; equal snapshots give equal output.
import type { Snapshot } from '../api/index.ts';
import { resolveBackendPolicies } from './backend-policy.ts';
import { planBinds } from './binds.ts';
import { buildContext } from './context.ts';
import { gatewayStatus, processGateways } from './gateway.ts';
import { processGatewayClasses } from './gatewayclass.ts';
import { planGatewayServices } from './gateway-services.ts';
import { processHttpRoutes } from './httproute.ts';
import { buildIR } from './ir-builder.ts';
import { sortStatuses } from './status.ts';
import type { TranslationCache } from './translation-cache.ts';
import { supportedFeatures } from './supported-features.ts';
import type { TranslateOptions, TranslateResult } from './types.ts';
import { list } from './fields.ts';

/** `cache` (kept by the caller from one translation to the next) makes it faster, never different. */
export function translate(snapshot: Snapshot, options: TranslateOptions, cache?: TranslationCache): TranslateResult {
  const ctx = buildContext(snapshot, options, cache?.startTranslation());
  // 1. GatewayClasses: which classes are Waygate's.
  const classes = processGatewayClasses(snapshot, options, supportedFeatures(options));
  // 2. Gateways of those classes: addresses, listeners, conflicts within each Gateway.
  const gateways = processGateways(ctx, list(snapshot.gateways), classes.accepted);
  // 2b. Kubernetes mode: each Gateway's Service, container ports and observed addresses.
  const services = options.deployment ? planGatewayServices(ctx, gateways, options.deployment) : undefined;
  // 3. Sockets: listeners of all Gateways by address:port; conflicts across Gateways.
  const binds = planBinds(gateways);
  // 4. HTTPRoutes: attachment to listeners, rules, backendRefs, route status.
  const routes = processHttpRoutes(ctx, list(snapshot.httpRoutes), gateways);
  // 5. BackendTrafficPolicies and Service annotations: the settings of each Service port.
  const policies = resolveBackendPolicies(ctx, list(snapshot.backendTrafficPolicies));
  // 6. The IR, and Gateway status (which needs the attached route counts).
  const ir = buildIR(ctx, binds, routes.backends, policies);
  const statuses = sortStatuses([...classes.statuses, ...gateways.map(gatewayStatus), ...routes.statuses, ...policies.statuses]);
  return services ? { ir, statuses, services } : { ir, statuses };
}
