// Where the provider's credentials come from: an explicit kubeconfig file, $KUBECONFIG, the
// pod's service account when running in a cluster, or ~/.kube/config.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface LoadKubeConfigOptions {
  /** A kubeconfig file (for example from --kubeconfig); otherwise the usual places are tried. */
  readonly kubeconfig?: string;
  /** Use this context of the kubeconfig instead of its current-context. */
  readonly context?: string;
}

/** A KubeConfig for the provider; throws K8S_ERR_CONFIG naming what was tried when none is found. */
export function loadKubeConfig(options: LoadKubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  const fromEnv = process.env.KUBECONFIG;
  const home = join(homedir(), '.kube', 'config');
  if (options.kubeconfig) {
    if (!existsSync(options.kubeconfig)) throw new Error(`K8S_ERR_CONFIG kubeconfig ${options.kubeconfig}: no such file`);
    kc.loadFromFile(options.kubeconfig);
  } else if (fromEnv) {
    kc.loadFromDefault();
  } else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    // In a pod: the token file is re-read by client-node, so rotated tokens are picked up.
    kc.loadFromCluster();
  } else if (existsSync(home)) {
    kc.loadFromFile(home);
  } else {
    throw new Error(`K8S_ERR_CONFIG no Kubernetes credentials: pass a kubeconfig, set KUBECONFIG, create ${home}, or run in a pod with a service account`);
  }
  if (options.context) kc.setCurrentContext(options.context);
  if (!kc.getCurrentCluster()) throw new Error(`K8S_ERR_CONFIG the kubeconfig has no cluster for context ${JSON.stringify(kc.getCurrentContext())}`);
  return kc;
}
