// The composition root: the only place that wires rooms together. Each process role
// (single process, supervisor, controller, worker) and the offline translate command are
// assembled here from the rooms' public interfaces.
import { availableParallelism } from 'node:os';
import { stringify as toYaml } from 'yaml';
import { startAdminServer, startHealthServer } from './admin/index.ts';
import { Controller, type ConfigPublisher } from './controller/index.ts';
import { DataPlane } from './dataplane/index.ts';
import type { IR } from './ir/index.ts';
import { createLogger, type Logger } from './observability/index.ts';
import { FileProvider, loadManifests } from './providers/index.ts';
import { Store, snapshotOf } from './resources/index.ts';
import { AckTracker, isEnvelope, runSupervisor } from './supervisor/index.ts';
import { translate, type TranslateOptions } from './translator/index.ts';

export const DEFAULT_CONTROLLER_NAME = 'waygate.dev/gateway-controller';

export interface KubernetesServeOptions {
  readonly kubeconfig?: string;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly leaderElection: { readonly namespace: string; readonly name: string; readonly leaseDurationMs: number };
  readonly gatewayServiceType: string;
  readonly proxySelector: Readonly<Record<string, string>>;
}

export interface ServeOptions {
  readonly manifests: readonly string[];
  readonly kubernetes?: KubernetesServeOptions;
  readonly adminAddress: string;
  /** Probes only (`/healthz`, `/readyz`), e.g. on the pod address while the admin API stays on loopback. */
  readonly healthAddress?: string;
  readonly workers?: number;
  readonly listenAddress: string;
  readonly controllerName: string;
  /** Re-run this script to start child processes (supervisor mode). */
  readonly entry: string;
  readonly args: readonly string[];
}

export interface TranslateCommandOptions {
  readonly manifests: readonly string[];
  readonly output: 'yaml' | 'json';
  readonly listenAddress: string;
  readonly controllerName: string;
}

/** `waygate serve`: picks the process role from the environment. */
export async function serve(options: ServeOptions): Promise<void> {
  const workers = options.workers ?? availableParallelism();
  const role = process.env.WAYGATE_ROLE;
  if (workers === 0) return serveSingleProcess(options);
  if (role === 'worker') return serveWorker();
  if (role === 'controller') return serveController(options);
  const logger = createLogger({ role: 'supervisor' });
  const supervisor = runSupervisor({ entry: options.entry, args: options.args, workers, logger });
  logger.info({ workers }, 'waygate started');
  onShutdown(logger, () => supervisor.stop());
}

function translateOptions(o: { listenAddress: string; controllerName: string }): TranslateOptions {
  return { controllerName: o.controllerName, listenAddress: o.listenAddress };
}

/** Controller side shared by the single-process and controller roles. */
async function startControllerSide(options: ServeOptions, logger: Logger, publisher: ConfigPublisher) {
  const store = new Store();
  const provider = new FileProvider({ paths: options.manifests, store, logger });
  const controller = new Controller({ store, translate: translateOptions(options), publisher, logger });
  await provider.start();
  controller.start();
  const ready = () => controller.ready();
  const admin = await startAdminServer({
    address: options.adminAddress,
    logger,
    source: {
      ready,
      statuses: () => controller.objectStatuses(),
      config: () => controller.published,
      problems: () => provider.errors(),
    },
  });
  const health = options.healthAddress ? await startHealthServer({ address: options.healthAddress, ready, logger }) : undefined;
  return {
    controller,
    async stop() {
      controller.stop();
      await provider.stop();
      for (const server of [admin, health]) {
        server?.close();
        server?.closeAllConnections();
      }
    },
  };
}

async function serveSingleProcess(options: ServeOptions): Promise<void> {
  const logger = createLogger({ role: 'single' });
  const dataplane = new DataPlane({});
  const tracker = new AckTracker();
  tracker.addWorker('inline');
  let controller: Controller | undefined;
  const publisher: ConfigPublisher = {
    // DataPlane.apply() runs calls in order, so acks arrive in publish order.
    publish(version: string, ir: IR) {
      tracker.published(version);
      void dataplane.apply(version, ir).then((result) => {
        tracker.ack('inline', version, result.binds);
        controller?.updateFleet(tracker.fleet());
      }, (err) => logger.warn({ err, version }, 'configuration not applied'));
    },
  };
  const side = await startControllerSide(options, logger, publisher);
  controller = side.controller;
  controller.updateFleet(tracker.fleet());
  onShutdown(logger, async () => {
    await side.stop();
    await dataplane.close();
  });
}

async function serveController(options: ServeOptions): Promise<void> {
  const logger = createLogger({ role: 'controller' });
  const publisher: ConfigPublisher = {
    publish: (version, ir) => process.send?.({ type: 'config', version, ir }),
  };
  const side = await startControllerSide(options, logger, publisher);
  process.on('message', (m) => {
    if (isEnvelope(m) && m.type === 'fleet') side.controller.updateFleet(m);
  });
  process.on('disconnect', () => void side.stop().then(() => process.exit(0)));
  onShutdown(logger, () => side.stop());
}

async function serveWorker(): Promise<void> {
  const id = process.env.WAYGATE_WORKER_ID ?? String(process.pid);
  const logger = createLogger({ role: id });
  const dataplane = new DataPlane({ reusePort: true });
  process.on('message', (m) => {
    if (!isEnvelope(m) || m.type !== 'config') return;
    void dataplane.apply(m.version, m.ir).then((result) => {
      for (const b of result.binds) if (b.error) logger.error({ bind: b.name, error: b.error }, 'PRX_ERR_BIND listener could not bind');
      process.send?.({ type: 'ack', version: m.version, worker: id, binds: result.binds });
    }, (err) => logger.warn({ err, version: m.version }, 'configuration not applied'));
  });
  const drain = async () => {
    await dataplane.close();
    process.exit(0);
  };
  process.on('disconnect', () => void drain());
  onShutdown(logger, () => dataplane.close());
}

function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: draining');
    stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
}

/** `waygate translate`: the same translation `serve` runs, printed. Exit code 1 on manifest errors. */
export async function translateCommand(options: TranslateCommandOptions): Promise<{ text: string; errors: string[] }> {
  const { objects, errors } = await loadManifests(options.manifests);
  const result = translate(snapshotOf(objects), translateOptions(options));
  const doc = { statuses: result.statuses, ir: result.ir };
  const text = options.output === 'json' ? JSON.stringify(doc, null, 2) + '\n' : toYaml(doc, { aliasDuplicateObjects: false });
  const messages = errors.map((e) => `${e.file}${e.line ? `:${e.line}` : ''}: ${e.object ? `${e.object}: ` : ''}${e.message}`);
  return { text, errors: messages };
}
