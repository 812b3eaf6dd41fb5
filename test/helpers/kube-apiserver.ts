// A Kubernetes API server for tests that speaks the real list/watch protocol; see
// kube-apiserver/server.ts.
export { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions, type ObjectRef, type RequestRecord } from './kube-apiserver/server.ts';
export { defaultResources, resourceName, type KubeJson, type ResourceDef } from './kube-apiserver/resources.ts';
export { StatusError } from './kube-apiserver/errors.ts';
