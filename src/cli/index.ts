// cli: `waygate serve | translate`. Parses arguments and calls the composition root.
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONTROLLER_NAME, serve, translateCommand, type GatewayServiceType } from '../main.ts';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function workerCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 256) throw new InvalidArgumentError('expected a whole number from 0 to 256 (0: a single process)');
  return n;
}

function serviceType(value: string): GatewayServiceType {
  if (!['LoadBalancer', 'NodePort', 'ClusterIP'].includes(value)) throw new InvalidArgumentError('expected LoadBalancer, NodePort or ClusterIP');
  return value as GatewayServiceType;
}

/** `a=b,c=d` → { a: 'b', c: 'd' } */
function labelMap(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const m = /^\s*([A-Za-z0-9./_-]+)=([A-Za-z0-9._-]*)\s*$/.exec(pair);
    if (!m) throw new InvalidArgumentError(`expected key=value pairs separated by commas; "${pair}" is not one`);
    out[m[1]] = m[2];
  }
  return out;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new InvalidArgumentError('expected a number of seconds from 0 to 3600');
  return n;
}

const DEFAULT_PROXY_SELECTOR = { 'app.kubernetes.io/name': 'waygate', 'app.kubernetes.io/instance': 'waygate' };

export function buildProgram(entry: string, argv: readonly string[]): Command {
  const program = new Command('waygate')
    .description('Kubernetes Gateway API gateway with an embedded proxy that takes every change live without dropping a request')
    .showHelpAfterError();

  program
    .command('serve')
    .description('serve the Gateways described by manifests, watching them for changes')
    .option('--manifests <file-or-dir>', 'YAML/JSON manifests, a file or a directory (read recursively); repeatable', collect, [])
    .option('--kubernetes', 'read from a Kubernetes cluster (in-cluster config, or --kubeconfig / KUBECONFIG)', false)
    .option('--kubeconfig <file>', 'kubeconfig file for --kubernetes (default: in-cluster, then KUBECONFIG, then ~/.kube/config)')
    .option('--watch-namespace <ns>', 'with --kubernetes: watch only this namespace (cluster-scoped kinds are always watched)')
    .option('--watch-label-selector <selector>', 'with --kubernetes: watch only namespaced objects matching this label selector')
    .option('--leader-election-namespace <ns>', 'namespace of the Lease that elects the status writer (default: $POD_NAMESPACE or waygate-system)')
    .option('--leader-election-id <name>', 'name of that Lease', 'waygate')
    .option('--leader-election-lease-duration <seconds>', 'how long a leader holds the Lease without renewing it', seconds, 15)
    .addOption(new Option('--gateway-service-type <type>', 'type of the Service created for each Gateway').argParser(serviceType).default('LoadBalancer'))
    .option('--proxy-selector <labels>', 'labels of the Waygate pods that Gateway Services select', labelMap, DEFAULT_PROXY_SELECTOR)
    .option('--admin-address <host:port>', 'admin API address (loopback unless told otherwise)', '127.0.0.1:9901')
    .option('--health-address <host:port>', 'also serve /healthz and /readyz (only those) on this address, for probes')
    .option('--workers <n>', 'proxy worker processes (default: one per core; 0: a single process)', workerCount)
    .option('--listen-address <ip>', 'address for the listeners of Gateways without spec.addresses', '0.0.0.0')
    .option('--controller-name <name>', 'GatewayClass spec.controllerName that Waygate serves', DEFAULT_CONTROLLER_NAME)
    .option('--zone <zone>', 'the zone this proxy runs in (topology.kubernetes.io/zone); backends with zone preference favour endpoints there (default: $WAYGATE_ZONE)')
    .action(async (opts) => {
      if (opts.manifests.length === 0 && !opts.kubernetes) throw new InvalidArgumentError('nothing to serve: give --manifests <file-or-dir>, --kubernetes, or both');
      await serve({
        manifests: opts.manifests,
        adminAddress: opts.adminAddress,
        healthAddress: opts.healthAddress,
        workers: opts.workers,
        listenAddress: opts.listenAddress,
        controllerName: opts.controllerName,
        zone: opts.zone ?? (process.env.WAYGATE_ZONE || undefined),
        kubernetes: opts.kubernetes ? {
          kubeconfig: opts.kubeconfig,
          namespace: opts.watchNamespace,
          labelSelector: opts.watchLabelSelector,
          leaderElection: {
            namespace: opts.leaderElectionNamespace ?? process.env.POD_NAMESPACE ?? 'waygate-system',
            name: opts.leaderElectionId,
            leaseDurationMs: opts.leaderElectionLeaseDuration * 1000,
          },
          podNamespace: process.env.POD_NAMESPACE ?? 'waygate-system',
          gatewayServiceType: opts.gatewayServiceType,
          proxySelector: opts.proxySelector,
        } : undefined,
        entry,
        args: argv.slice(2),
      });
    });

  program
    .command('translate')
    .description('print the status of every object and the configuration (IR) that serve would run, offline')
    .requiredOption('--manifests <file-or-dir>', 'YAML/JSON manifests, a file or a directory (read recursively); repeatable', collect, [])
    .addOption(new Option('--output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .option('--listen-address <ip>', 'address for the listeners of Gateways without spec.addresses', '0.0.0.0')
    .option('--controller-name <name>', 'GatewayClass spec.controllerName that Waygate serves', DEFAULT_CONTROLLER_NAME)
    .addOption(new Option('--deployment <model>', 'translate as serve does from manifests (file) or from a cluster (kubernetes: a Service and container ports per Gateway)').choices(['file', 'kubernetes']).default('file'))
    .option('--pod-namespace <ns>', 'with --deployment kubernetes: namespace of the Waygate pods and the Gateway Services', 'waygate-system')
    .addOption(new Option('--gateway-service-type <type>', 'with --deployment kubernetes: type of the Service created for each Gateway').argParser(serviceType).default('LoadBalancer'))
    .option('--proxy-selector <labels>', 'with --deployment kubernetes: labels of the Waygate pods that Gateway Services select', labelMap, DEFAULT_PROXY_SELECTOR)
    .action(async (opts) => {
      const kubernetes = opts.deployment === 'kubernetes'
        ? { podNamespace: opts.podNamespace, gatewayServiceType: opts.gatewayServiceType, proxySelector: opts.proxySelector }
        : undefined;
      const { text, errors } = await translateCommand({ manifests: opts.manifests, output: opts.output, listenAddress: opts.listenAddress, controllerName: opts.controllerName, kubernetes });
      process.stdout.write(text);
      for (const e of errors) process.stderr.write(`error: ${e}\n`);
      if (errors.length > 0) process.exitCode = 1;
    });

  return program;
}

export async function runCli(entry: string, argv: readonly string[]): Promise<void> {
  try {
    await buildProgram(entry, argv).parseAsync([...argv]);
  } catch (err) {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
