// IRBackend endpoints of a Service port, from its EndpointSlices: ready endpoints (ready true
// or unset); when there are none, the serving ones that are terminating; never others.
import type { Endpoint, EndpointSlice, ServicePort } from '../api/index.ts';
import { serviceBackendName, type IRBackend, type IREndpoint } from '../ir/index.ts';
import { keyOf, type TranslationContext } from './context.ts';
import type { ServicePortRef } from './backends.ts';
import { compareText } from './precedence.ts';
import { list } from './fields.ts';

export function buildBackend(ctx: TranslationContext, ref: ServicePortRef): IRBackend {
  const name = serviceBackendName(ref.namespace, ref.name, ref.port);
  const servicePort = ctx.services.get(keyOf(ref.namespace, ref.name))?.spec?.ports?.find((p) => p?.port === ref.port);
  if (!servicePort) return { name, endpoints: [] };
  const slices = list(ctx.endpointSlices.get(keyOf(ref.namespace, ref.name))).filter((s) => s.addressType !== 'FQDN');
  const ready = collectEndpoints(slices, servicePort, isReady, false);
  const endpoints = ready.length > 0 ? ready : collectEndpoints(slices, servicePort, isServingTerminating, true);
  return { name, endpoints: endpoints.sort(compareEndpoints) };
}

function isReady(ep: Endpoint): boolean {
  return ep.conditions?.ready !== false;
}

function isServingTerminating(ep: Endpoint): boolean {
  return ep.conditions?.serving === true && ep.conditions?.terminating === true;
}

/** Endpoints across slices, deduplicated by address:port; an endpoint's first address is used. */
function collectEndpoints(
  slices: readonly EndpointSlice[], servicePort: ServicePort, accept: (ep: Endpoint) => boolean, terminating: boolean,
): IREndpoint[] {
  const out = new Map<string, IREndpoint>();
  for (const slice of slices) {
    const port = slicePort(slice, servicePort);
    if (port === undefined) continue;
    for (const ep of list(slice.endpoints)) {
      const address = ep?.addresses?.[0];
      if (typeof address !== 'string' || !accept(ep)) continue;
      const key = `${address}|${port}`;
      if (out.has(key)) continue;
      out.set(key, { address, port, ...(terminating ? { terminating: true } : {}), ...(ep.zone ? { zone: ep.zone } : {}) });
    }
  }
  return [...out.values()];
}

/** The slice port whose name equals the Service port's name (unnamed matches unnamed). */
function slicePort(slice: EndpointSlice, servicePort: ServicePort): number | undefined {
  const wanted = servicePort.name ?? '';
  const port = list(slice.ports).find((p) => (p?.name ?? '') === wanted);
  return Number.isInteger(port?.port) ? port?.port : undefined;
}

function compareEndpoints(a: IREndpoint, b: IREndpoint): number {
  return compareText(a.address, b.address) || a.port - b.port;
}
