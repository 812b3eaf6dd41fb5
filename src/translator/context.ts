// Indexes over the snapshot that every processor shares; built once per translation.
import type {
  EndpointSlice, KubeObject, Namespace, ReferenceGrant, Secret, Service, Snapshot,
} from '../api/index.ts';
import { SERVICE_NAME_LABEL } from '../api/index.ts';
import type { TranslationCache } from './translation-cache.ts';
import type { TranslateOptions } from './types.ts';
import { list } from './fields.ts';

export interface TranslationContext {
  readonly options: TranslateOptions;
  readonly namespaces: ReadonlyMap<string, Namespace>;
  readonly services: ReadonlyMap<string, Service>;
  /** EndpointSlices by `<namespace>/<service name>`. */
  readonly endpointSlices: ReadonlyMap<string, readonly EndpointSlice[]>;
  /** Secrets by `<namespace>/<name>` (certificates of HTTPS listeners). */
  readonly secrets: ReadonlyMap<string, Secret>;
  /** ReferenceGrants by namespace. */
  readonly referenceGrants: ReadonlyMap<string, readonly ReferenceGrant[]>;
  /**
   * From step 4 on: the Gateways of Waygate's classes by `<namespace>/<name>`, to the hash of
   * their spec (all that attaching a route reads of a Gateway; its status changes often).
   */
  readonly gateways?: ReadonlyMap<string, string>;
  /** What earlier translations built that this one may reuse (see translation-cache.ts). */
  readonly cache?: TranslationCache;
}

export function namespaceOf(obj: KubeObject): string {
  return obj.metadata?.namespace ?? 'default';
}

export function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function buildContext(snapshot: Snapshot, options: TranslateOptions, cache?: TranslationCache): TranslationContext {
  const namespaces = new Map<string, Namespace>();
  for (const ns of list(snapshot.namespaces)) if (ns.metadata?.name) namespaces.set(ns.metadata.name, ns);
  const services = new Map<string, Service>();
  for (const svc of list(snapshot.services)) {
    if (svc.metadata?.name) services.set(keyOf(namespaceOf(svc), svc.metadata.name), svc);
  }
  const secrets = new Map<string, Secret>();
  for (const secret of list(snapshot.secrets)) {
    if (secret?.metadata?.name) secrets.set(keyOf(namespaceOf(secret), secret.metadata.name), secret);
  }
  return {
    options,
    namespaces,
    services,
    secrets,
    endpointSlices: groupBy(list(snapshot.endpointSlices), sliceServiceKey),
    referenceGrants: groupBy(list(snapshot.referenceGrants), (g) => namespaceOf(g)),
    ...(cache ? { cache } : {}),
  };
}

function sliceServiceKey(slice: EndpointSlice): string | undefined {
  const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return service ? keyOf(namespaceOf(slice), service) : undefined;
}

function groupBy<T>(items: readonly T[], keyFn: (item: T) => string | undefined): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const key = keyFn(item);
    if (key === undefined) continue;
    const list = out.get(key);
    if (list) list.push(item);
    else out.set(key, [item]);
  }
  return out;
}

/** The labels of a namespace, including the `kubernetes.io/metadata.name` label Kubernetes sets on every namespace. */
export function namespaceLabels(ctx: TranslationContext, name: string): Readonly<Record<string, string>> {
  return { ...(ctx.namespaces.get(name)?.metadata?.labels ?? {}), 'kubernetes.io/metadata.name': name };
}
