// IRBackend endpoints of a Service port, from its EndpointSlices: every endpoint some tier can
// use (ready, or serving and terminating) with its conditions, zone and zone hints; the data plane
// chooses the tier and the zone, so that a session can persist on a serving terminating endpoint
// while others are ready.
import type { Endpoint, EndpointSlice, ServicePort } from '../api/index.ts';
import { endpointConditions, serviceBackendName, type IRBackend, type IREndpoint } from '../ir/index.ts';
import { keyOf, type TranslationContext } from './context.ts';
import { externalNameOf, type ServicePortRef } from './backends.ts';
import { compareText } from './precedence.ts';
import { list } from './fields.ts';

export function buildBackend(ctx: TranslationContext, ref: ServicePortRef): IRBackend {
  const name = serviceBackendName(ref.namespace, ref.name, ref.port);
  const service = ctx.services.get(keyOf(ref.namespace, ref.name));
  if (service?.spec?.type === 'ExternalName') {
    const hostname = externalNameOf(service);
    return hostname === undefined ? { name, endpoints: [] } : { name, endpoints: [], dns: { hostname, port: ref.port } };
  }
  const servicePort = ctx.services.get(keyOf(ref.namespace, ref.name))?.spec?.ports?.find((p) => p?.port === ref.port);
  if (!servicePort) return { name, endpoints: [] };
  const slices = list(ctx.endpointSlices.get(keyOf(ref.namespace, ref.name))).filter((s) => s.addressType !== 'FQDN');
  const endpoints = [...collectEndpoints(slices, servicePort).values()].map((c) => c.endpoint);
  return { name, endpoints: endpoints.sort(compareEndpoints) };
}

interface Candidate {
  readonly endpoint: IREndpoint;
  /** Orders duplicates of one address and port (then their zones): the smallest is kept, whatever the slice order. */
  readonly rank: number;
}

/**
 * Endpoints across slices, one per address:port (an endpoint's first address is used). The
 * conditions are read as EndpointSlice defines them: `ready` and `serving` true when unset,
 * `terminating` false when unset.
 */
function collectEndpoints(slices: readonly EndpointSlice[], servicePort: ServicePort): Map<string, Candidate> {
  const out = new Map<string, Candidate>();
  for (const slice of slices) {
    const port = slicePort(slice, servicePort);
    if (port === undefined) continue;
    for (const ep of list(slice.endpoints)) {
      const address = ep?.addresses?.[0];
      if (typeof address !== 'string' || address === '') continue;
      const candidate = candidateOf(ep, address, port);
      if (candidate === undefined) continue;
      const key = `${address}|${port}`;
      const seen = out.get(key);
      if (seen === undefined || compareCandidates(candidate, seen) < 0) out.set(key, candidate);
    }
  }
  return out;
}

function candidateOf(ep: Endpoint, address: string, port: number): Candidate | undefined {
  const ready = ep.conditions?.ready !== false;
  const serving = ep.conditions?.serving !== false;
  const terminating = ep.conditions?.terminating === true;
  if (!ready && !(serving && terminating)) return undefined;
  const zone = typeof ep.zone === 'string' && ep.zone !== '' ? ep.zone : undefined;
  const forZones = hintedZones(ep);
  const endpoint: IREndpoint = {
    address, port, ...endpointConditions(ready, serving, terminating), ...(zone ? { zone } : {}), ...(forZones ? { forZones } : {}),
  };
  // Ready before serving-terminating; then any stable order of the rest.
  const rank = (ready ? 0 : 4) + (terminating ? 2 : 0) + (serving ? 0 : 1);
  return { endpoint, rank };
}

/** EndpointSlice `hints.forZones` (topology-aware routing): the zone names, sorted, without duplicates. */
function hintedZones(ep: Endpoint): string[] | undefined {
  const names = list(ep.hints?.forZones).map((z) => z?.name).filter((n): n is string => typeof n === 'string' && n !== '');
  return names.length > 0 ? [...new Set(names)].sort(compareText) : undefined;
}

function compareCandidates(a: Candidate, b: Candidate): number {
  return a.rank - b.rank || compareText(a.endpoint.zone ?? '', b.endpoint.zone ?? '');
}

/** The slice port whose name equals the Service port's name (unnamed matches unnamed). */
function slicePort(slice: EndpointSlice, servicePort: ServicePort): number | undefined {
  const wanted = servicePort.name ?? '';
  const port = list(slice.ports).find((p) => (p?.name ?? '') === wanted)?.port;
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535 ? port : undefined;
}

function compareEndpoints(a: IREndpoint, b: IREndpoint): number {
  return compareText(a.address, b.address) || a.port - b.port;
}
