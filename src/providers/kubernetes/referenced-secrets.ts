// Secrets are watched one by one, only those a Gateway listener references
// (spec.listeners[].tls.certificateRefs): Waygate never holds the other Secrets of the cluster
// in memory. Each is a ListWatch with fieldSelector metadata.name=<name> in its namespace
// (named-informers.ts).
import type { Gateway, KubeObject } from '../../api/index.ts';

export interface SecretRef {
  readonly namespace: string;
  readonly name: string;
}

/** Secrets referenced by certificateRefs (core group, kind Secret; namespace defaults to the Gateway's). */
export function referencedSecrets(gateways: readonly KubeObject[], onlyNamespace?: string): SecretRef[] {
  const refs = new Map<string, SecretRef>();
  for (const gw of gateways as readonly Gateway[]) {
    for (const listener of gw.spec?.listeners ?? []) {
      for (const ref of listener.tls?.certificateRefs ?? []) {
        if ((ref.group ?? '') !== '' || (ref.kind ?? 'Secret') !== 'Secret' || !ref.name) continue;
        const namespace = ref.namespace ?? gw.metadata.namespace ?? 'default';
        if (onlyNamespace !== undefined && namespace !== onlyNamespace) continue;
        refs.set(`${namespace}/${ref.name}`, { namespace, name: ref.name });
      }
    }
  }
  return [...refs.values()];
}
