// providers: sources of Kubernetes objects that keep their part of the store current.
export { FileProvider, FILE_SOURCE, listManifestFiles, loadManifests, type FileProviderOptions } from './file/file-provider.ts';
export type { ManifestError } from './file/parse-manifests.ts';
