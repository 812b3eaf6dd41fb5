// Request paths of the Kubernetes REST API, resolved against what the server serves, and the
// discovery documents that describe it.
import { errors } from './errors.ts';
import { discoveryEntries, groupVersion, type KubeJson, type ResourceDef } from './resources.ts';

export interface ResourceRoute {
  readonly def: ResourceDef;
  readonly version: string;
  readonly namespace?: string;
  readonly name?: string;
  readonly subresource?: 'status';
  /** The deprecated `/watch/` path form. */
  readonly watchPath: boolean;
}

export type Route = { readonly discovery: KubeJson } | { readonly resource: ResourceRoute };

/** Subresources of a Namespace, which `namespaces/{name}/…` names instead of a namespaced resource. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function resolve(path: string, served: readonly ResourceDef[], address: string): Route {
  const segs = path.split('/').filter(Boolean).map(decodeURIComponent);
  let group: string;
  let rest: string[];
  if (segs[0] === 'api') {
    if (segs.length === 1) return { discovery: { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: address }] } };
    if (segs[1] !== 'v1') throw errors.noResource();
    group = '';
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    if (segs.length === 1) return { discovery: groupList(served) };
    group = segs[1];
    const doc = groupList(served).groups.find((g: KubeJson) => g.name === group);
    if (!doc) throw errors.noResource();
    if (segs.length === 2) return { discovery: { kind: 'APIGroup', apiVersion: 'v1', ...doc } };
    rest = segs.slice(3);
  } else throw errors.noResource();
  const version = segs[0] === 'api' ? 'v1' : segs[2];
  const inVersion = served.filter((d) => d.group === group && d.versions.includes(version));
  if (inVersion.length === 0) throw errors.noResource();
  if (rest.length === 0) {
    return { discovery: { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion(group, version), resources: inVersion.flatMap(discoveryEntries) } };
  }
  const watchPath = rest[0] === 'watch';
  if (watchPath) rest = rest.slice(1);
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && !NAMESPACE_SUBRESOURCES.has(rest[2])) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, sub, ...extra] = rest;
  const def = inVersion.find((d) => d.plural === plural);
  if (!def || extra.length > 0) throw errors.noResource();
  if (namespace !== undefined && !def.namespaced) throw errors.noResource();
  if (namespace === undefined && name !== undefined && def.namespaced) throw errors.noResource();
  if (sub !== undefined && !(sub === 'status' && def.status)) throw errors.noResource();
  return { resource: { def, version, namespace, name, subresource: sub as 'status' | undefined, watchPath } };
}

function groupList(served: readonly ResourceDef[]): KubeJson {
  const groups = new Map<string, string[]>();
  for (const d of served) {
    if (!d.group) continue;
    const versions = groups.get(d.group) ?? [];
    for (const v of d.versions) if (!versions.includes(v)) versions.push(v);
    groups.set(d.group, versions);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups].map(([name, versions]) => {
      const entries = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
      return { name, versions: entries, preferredVersion: entries[0] };
    }),
  };
}
