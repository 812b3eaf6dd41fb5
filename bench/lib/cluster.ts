// A generated cluster for the event-to-live benchmark: a few Gateways, thousands of HTTPRoutes
// over many namespaces and hostnames (path, header and method matches, weighted backends), and
// Services whose EndpointSlices point at a handful of echo backends on loopback. Objects are
// plain data; `clusterFiles()` lays them out as one manifest file per namespace.
import { stringify } from 'yaml';

export interface ClusterOptions {
  readonly routes: number;
  readonly services: number;
  readonly namespaces: number;
  /** Port of the shared listener of the `public` and `internal` Gateways; `edge` uses port + 1. */
  readonly gatewayPort: number;
  /** Echo backends; every endpoint of a Service is one of them (on 127.0.0.1, .2 and .3). */
  readonly backendPorts: readonly number[];
  /** Gateways ask for 127.0.0.1 in spec.addresses (from files); in a cluster they get a Service instead. */
  readonly gatewayAddresses?: boolean;
}

export type Manifest = Record<string, unknown> & { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } };

/** The route the benchmark changes, and the two Services it switches between. */
export interface Target {
  readonly namespace: string;
  readonly name: string;
  readonly host: string;
  /** A path that only rule 0 of the target route matches. */
  readonly path: string;
  /** Services of the target's namespace whose endpoints are different backends. */
  readonly services: readonly [string, string];
  /** The backend port each of those Services answers from. */
  readonly backendPorts: readonly [number, number];
}

const GATEWAY_API = 'gateway.networking.k8s.io/v1';
const GATEWAY_NS = 'infra';
const HOSTS_PER_NAMESPACE = 10;

export function namespaceName(i: number): string {
  return `team-${String(i).padStart(3, '0')}`;
}

function serviceName(i: number): string {
  return `svc-${String(i).padStart(3, '0')}`;
}

function routeName(i: number): string {
  return `route-${String(i).padStart(4, '0')}`;
}

/** Which backend port a Service's endpoints use. */
export function serviceBackendPort(o: ClusterOptions, nsIndex: number, svcIndex: number): number {
  return o.backendPorts[(nsIndex + svcIndex) % o.backendPorts.length];
}

export function gatewayObjects(o: ClusterOptions): Manifest[] {
  const gateway = (name: string, port: number, hostname: string | undefined, from: Record<string, unknown>): Manifest => ({
    apiVersion: GATEWAY_API, kind: 'Gateway',
    metadata: { name, namespace: GATEWAY_NS },
    spec: {
      gatewayClassName: 'waygate',
      ...(o.gatewayAddresses === false ? {} : { addresses: [{ type: 'IPAddress', value: '127.0.0.1' }] }),
      listeners: [{ name: 'http', protocol: 'HTTP', port, ...(hostname ? { hostname } : {}), allowedRoutes: { namespaces: from } }],
    },
  });
  const namespaces: Manifest[] = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: GATEWAY_NS } }];
  for (let i = 0; i < o.namespaces; i++) {
    namespaces.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespaceName(i), labels: { tier: i % 4 === 0 ? 'edge' : 'app' } } });
  }
  return [
    { apiVersion: GATEWAY_API, kind: 'GatewayClass', metadata: { name: 'waygate' }, spec: { controllerName: 'waygate.dev/gateway-controller' } },
    ...namespaces,
    // Two Gateways share one socket, isolated by listener hostname; a third admits by label.
    gateway('public', o.gatewayPort, '*.example.com', { from: 'All' }),
    gateway('internal', o.gatewayPort, '*.internal.example', { from: 'All' }),
    gateway('edge', o.gatewayPort + 1, undefined, { from: 'Selector', selector: { matchLabels: { tier: 'edge' } } }),
  ];
}

/** Services, EndpointSlices and HTTPRoutes of namespace `nsIndex`; `variant` changes the target route. */
export function namespaceObjects(o: ClusterOptions, nsIndex: number, change?: { target: Target; variant: number; mode: ChangeMode }): Manifest[] {
  const ns = namespaceName(nsIndex);
  const services = spread(o.services, o.namespaces, nsIndex);
  const routes = spread(o.routes, o.namespaces, nsIndex);
  const out: Manifest[] = [];
  for (let s = 0; s < services; s++) out.push(...serviceObjects(o, ns, nsIndex, s));
  for (let r = 0; r < routes; r++) {
    const route = routeObject(ns, nsIndex, r, services);
    out.push(change && change.target.namespace === ns && change.target.name === route.metadata.name ? changeRoute(route, change) : route);
  }
  return out;
}

/** `total` spread over `parts` as evenly as possible: how many part `i` gets. */
function spread(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}

function serviceObjects(o: ClusterOptions, ns: string, nsIndex: number, s: number): Manifest[] {
  const name = serviceName(s);
  const port = serviceBackendPort(o, nsIndex, s);
  return [
    { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } },
    {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: `${name}-abcde`, namespace: ns, labels: { 'kubernetes.io/service-name': name } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port }],
      endpoints: ['127.0.0.1', '127.0.0.2', '127.0.0.3'].map((address, i) => ({
        addresses: [address], conditions: { ready: true }, zone: `zone-${i}`,
      })),
    },
  ];
}

/**
 * Route r of a namespace: most attach to `public` (hostname app-<k>.<ns>.example.com, so ten
 * routes share each virtual host), every fifth to `internal`, routes of `edge` namespaces also
 * to `edge`. Three rules: a PathPrefix, an Exact path with a method, a header match with a
 * weighted split.
 */
function routeObject(ns: string, nsIndex: number, r: number, services: number): Manifest {
  const svc = (k: number) => serviceName((r + k) % Math.max(1, services));
  const internal = r % 5 === 4;
  const host = internal ? `app-${r % HOSTS_PER_NAMESPACE}.${ns}.internal.example` : `app-${r % HOSTS_PER_NAMESPACE}.${ns}.example.com`;
  const parentRefs: Record<string, unknown>[] = [{ name: internal ? 'internal' : 'public', namespace: GATEWAY_NS, sectionName: 'http' }];
  if (nsIndex % 4 === 0 && r % 2 === 0) parentRefs.push({ name: 'edge', namespace: GATEWAY_NS });
  return {
    apiVersion: GATEWAY_API, kind: 'HTTPRoute',
    metadata: { name: routeName(r), namespace: ns, labels: { app: `app-${r % HOSTS_PER_NAMESPACE}` } },
    spec: {
      parentRefs,
      hostnames: [host],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: `/r${r}/api` } }], backendRefs: [{ name: svc(0), port: 80 }] },
        { matches: [{ path: { type: 'Exact', value: `/r${r}/health` }, method: 'GET' }], backendRefs: [{ name: svc(1), port: 80 }] },
        {
          matches: [{ path: { type: 'PathPrefix', value: `/r${r}` }, headers: [{ name: 'x-canary', value: 'true' }] }],
          backendRefs: [{ name: svc(1), port: 80, weight: 90 }, { name: svc(2), port: 80, weight: 10 }],
          timeouts: { request: '10s' },
        },
      ],
    },
  };
}

/**
 * `backend`: rule 0 of the target forwards to one of two Services, alternately. `path`: the
 * target gains a rule for `/r<r>/added-<variant>` (see `probePath`).
 */
export type ChangeMode = 'backend' | 'path';

function changeRoute(route: Manifest, change: { target: Target; variant: number; mode: ChangeMode }): Manifest {
  const spec = route.spec as { rules: Record<string, unknown>[] };
  const rules = [...spec.rules];
  if (change.mode === 'backend') {
    rules[0] = { ...rules[0], backendRefs: [{ name: change.target.services[change.variant % 2], port: 80 }] };
  } else {
    rules.unshift({ matches: [{ path: { type: 'Exact', value: addedPath(change.target, change.variant) } }], backendRefs: [{ name: change.target.services[0], port: 80 }] });
  }
  return { ...route, spec: { ...spec, rules } };
}

export function addedPath(target: Target, variant: number): string {
  return `${target.path.replace(/\/api\/.*$/, '')}/added-${variant}`;
}

/** A route in the middle of the cluster, on the shared `public` socket. */
export function pickTarget(o: ClusterOptions): Target {
  const nsIndex = Math.floor(o.namespaces / 2) + 1;
  const ns = namespaceName(nsIndex);
  const services = spread(o.services, o.namespaces, nsIndex);
  const r = 2 * HOSTS_PER_NAMESPACE + 1; // not internal (r % 5 !== 4)
  const first = r % services;
  // A second Service whose endpoints are another backend.
  let second = (first + 1) % services;
  while (serviceBackendPort(o, nsIndex, second) === serviceBackendPort(o, nsIndex, first) && second !== first) second = (second + 1) % services;
  if (second === first) throw new Error('the target namespace needs Services on two different backends');
  return {
    namespace: ns,
    name: routeName(r),
    host: `app-${r % HOSTS_PER_NAMESPACE}.${ns}.example.com`,
    path: `/r${r}/api/probe`,
    services: [serviceName(first), serviceName(second)],
    backendPorts: [serviceBackendPort(o, nsIndex, first), serviceBackendPort(o, nsIndex, second)],
  };
}

export function toYaml(objects: readonly Manifest[]): string {
  return objects.map((obj) => stringify(obj, { aliasDuplicateObjects: false })).join('---\n');
}

/** File name → manifest text: `gateways.yaml`, then one `<namespace>.yaml` per namespace. */
export function clusterFiles(o: ClusterOptions): Map<string, string> {
  const files = new Map<string, string>([['gateways.yaml', toYaml(gatewayObjects(o))]]);
  for (let i = 0; i < o.namespaces; i++) files.set(`${namespaceName(i)}.yaml`, toYaml(namespaceObjects(o, i)));
  return files;
}

/** Every object of the cluster, for in-process use. */
export function clusterObjects(o: ClusterOptions): Manifest[] {
  const out = gatewayObjects(o);
  for (let i = 0; i < o.namespaces; i++) out.push(...namespaceObjects(o, i));
  return out;
}
