// providers: sources of Kubernetes objects that keep their part of the store current.
export { FileProvider, FILE_SOURCE, listManifestFiles, loadManifests, type FileProviderOptions } from './file/file-provider.ts';
export type { ManifestError } from './file/parse-manifests.ts';
export { LeaderElector, defaultIdentity, type LeaderElectionOptions } from './kubernetes/leader-election.ts';
export { StatusWriter, type StatusWriterOptions, type StatusWriterStats } from './kubernetes/status-writer.ts';
export { STATUS_RESOURCES, type StatusResource } from './kubernetes/status-resources.ts';
export {
  KubernetesProvider, type KubernetesProviderOptions, type KubernetesHealth, type KindHealth, type KubernetesProblem,
} from './kubernetes/kubernetes-provider.ts';
export { KUBERNETES_KINDS, type KubernetesKind } from './kubernetes/kinds.ts';
export type { BackoffOptions } from './kubernetes/backoff.ts';
export type { InformerHealth, InformerState } from './kubernetes/supervised-informer.ts';
export { loadKubeConfig, type LoadKubeConfigOptions } from './kubernetes/kubeconfig.ts';
export { GatewayServiceReconciler, type GatewayServiceReconcilerOptions, type GatewayServiceStats } from './kubernetes/gateway-services.ts';
