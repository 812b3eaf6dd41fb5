// CustomResourceDefinitions (apiextensions.k8s.io/v1) of the custom resources the test API
// server serves, as a real cluster holds them once they are installed and established: the
// Gateway API ones carry the release annotations of the published CRDs
// (gateway.networking.k8s.io/bundle-version and /channel).
import { resourceName, type KubeJson, type ResourceDef } from './resources.ts';

/** The release the Gateway API CRDs come from: `{ bundleVersion: 'v1.6.1', channel: 'standard' }` by default; null for no annotations. */
export interface GatewayApiRelease {
  readonly bundleVersion?: string;
  readonly channel?: string;
}

const GATEWAY_API_GROUPS = new Set(['gateway.networking.k8s.io', 'gateway.networking.x-k8s.io']);

/** The CRD object of a custom resource (without server-set metadata): what `kubectl apply` of its manifest creates. */
export function crdOf(def: ResourceDef, release: GatewayApiRelease | null): KubeJson {
  const annotations: Record<string, string> = {};
  if (GATEWAY_API_GROUPS.has(def.group) && release) {
    if (release.bundleVersion !== undefined) annotations['gateway.networking.k8s.io/bundle-version'] = release.bundleVersion;
    if (release.channel !== undefined) annotations['gateway.networking.k8s.io/channel'] = release.channel;
  }
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: resourceName(def), ...(Object.keys(annotations).length > 0 ? { annotations } : {}) },
    spec: {
      group: def.group,
      names: namesOf(def),
      scope: def.namespaced ? 'Namespaced' : 'Cluster',
      versions: def.versions.map((name, i) => ({
        name, served: true, storage: i === 0,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        ...(def.status ? { subresources: { status: {} } } : {}),
      })),
    },
  };
}

/** The status the apiextensions controllers write once the names are accepted and the CRD is served. */
export function establishedStatus(def: ResourceDef, at: string): KubeJson {
  const condition = (type: string, reason: string, message: string) => ({ type, status: 'True', lastTransitionTime: at, reason, message });
  return {
    acceptedNames: namesOf(def),
    storedVersions: [def.versions[0]],
    conditions: [
      condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
      condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
    ],
  };
}

function namesOf(def: ResourceDef): KubeJson {
  return { kind: def.kind, listKind: `${def.kind}List`, plural: def.plural, singular: def.singular, ...(def.shortNames ? { shortNames: [...def.shortNames] } : {}) };
}
