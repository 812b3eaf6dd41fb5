// providers: sources of Kubernetes objects that keep their part of the store current.
export { FileProvider, FILE_SOURCE, listManifestFiles, loadManifests, type FileProviderOptions } from './file/file-provider.ts';
export type { ManifestError } from './file/parse-manifests.ts';
export { LeaderElector, defaultIdentity, type LeaderElectionOptions } from './kubernetes/leader-election.ts';
export { StatusWriter, type StatusWriterOptions, type StatusWriterStats } from './kubernetes/status-writer.ts';
export { STATUS_RESOURCES, type StatusResource } from './kubernetes/status-resources.ts';
