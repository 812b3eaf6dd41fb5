// GatewayClass SupportedVersion: whether the Gateway API release installed in the cluster (the
// `gateway.networking.k8s.io/bundle-version` annotation of each CRD Waygate reads) is one Waygate
// supports. The rules, from the Go doc of GatewayClassConditionStatusSupportedVersion (the
// condition is excluded from the CRD text) and the implementer's guide, "Version Compatibility":
// a CRD without the annotation, or with a version not supported, makes SupportedVersion False
// (reason UnsupportedVersion, with the detected and supported versions in the message); the
// implementation then either keeps Accepted True ("best effort") or sets Accepted False with
// reason UnsupportedVersion. docs/conformance.md, "GatewayClass SupportedVersion", says why
// Waygate chooses as it does.
import { BUNDLE_VERSION_ANNOTATION, CHANNEL_ANNOTATION, GATEWAY_API_CRD_NAMES, type CustomResourceDefinition } from '../api/index.ts';

/** The releases Waygate implements and passes conformance for: v1.6.0, v1.6.1, … */
const SUPPORTED = { major: 1, minor: 6 } as const;
const SUPPORTED_TEXT = `v${SUPPORTED.major}.${SUPPORTED.minor}.x`;
const SEMVER = /^v(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

export interface VersionVerdict {
  /** SupportedVersion: True only when every CRD Waygate reads is of a supported release. */
  readonly supported: boolean;
  /**
   * False when Waygate cannot give even best-effort support (a release of another major
   * version): the class is then Accepted=False, UnsupportedVersion.
   */
  readonly bestEffort: boolean;
  readonly message: string;
}

type Judged = { readonly name: string; readonly found: string; readonly supported: boolean; readonly bestEffort: boolean };

/**
 * The verdict on the installed CRDs; undefined when none was read (file mode, or an offline
 * translation without CRD manifests): then nothing is detected and Waygate reports the version it
 * implements.
 */
export function judgeInstalledVersion(crds: readonly CustomResourceDefinition[]): VersionVerdict | undefined {
  const judged = crds.filter((crd) => GATEWAY_API_CRD_NAMES.includes(crd?.metadata?.name)).map(judgeCrd);
  if (judged.length === 0) return undefined;
  const supported = judged.every((j) => j.supported);
  const detected = describeDetected(judged);
  return {
    supported,
    bestEffort: judged.every((j) => j.bestEffort),
    message: supported
      ? `The installed Gateway API CRDs are supported: ${detected}`
      : `Waygate supports Gateway API ${SUPPORTED_TEXT}; installed: ${detected}`,
  };
}

function judgeCrd(crd: CustomResourceDefinition): Judged {
  const annotations = crd.metadata.annotations ?? {};
  const version = annotations[BUNDLE_VERSION_ANNOTATION];
  const channel = annotations[CHANNEL_ANNOTATION];
  const name = crd.metadata.name;
  if (typeof version !== 'string') return { name, found: `no ${BUNDLE_VERSION_ANNOTATION} annotation`, supported: false, bestEffort: true };
  const found = typeof channel === 'string' ? `${version} (${channel} channel)` : version;
  const m = SEMVER.exec(version);
  // Not a release version at all: nothing is known of it beyond what the provider could read.
  if (!m) return { name, found, supported: false, bestEffort: true };
  const [major, minor] = [Number(m[1]), Number(m[2])];
  // A pre-release (v1.6.0-rc.1) is not the release Waygate is tested against.
  const supported = major === SUPPORTED.major && minor === SUPPORTED.minor && m[4] === undefined;
  // Within v1 the standard channel stays compatible both ways (implementer's guide); another
  // major version (v0.x, v2.x) promises nothing about the v1 objects Waygate reads.
  return { name, found, supported, bestEffort: major === SUPPORTED.major };
}

/** `v1.6.1 (standard channel) for gatewayclasses, gateways; v1.7.0 (standard channel) for httproutes`. */
function describeDetected(judged: readonly Judged[]): string {
  const byFound = new Map<string, string[]>();
  for (const j of [...judged].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const names = byFound.get(j.found) ?? [];
    names.push(j.name.split('.')[0]);
    byFound.set(j.found, names);
  }
  return [...byFound].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([found, names]) => `${found} for ${names.join(', ')}`).join('; ');
}
