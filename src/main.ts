// The composition root: the only place that wires rooms together. Each process role
// (single process, supervisor, controller, worker) and the offline translate command are
// assembled here from the rooms' public interfaces.
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { stringify as toYaml } from 'yaml';
import { startAdminServer, startHealthServer } from './admin/index.ts';
import { Controller, type ConfigPublisher } from './controller/index.ts';
import { ActiveHealthChecker, DataPlane, type HealthUpdate } from './dataplane/index.ts';
import { redactIR, type IR } from './ir/index.ts';
import { createLogger, type Logger } from './observability/index.ts';
import {
  FileProvider, GatewayServiceReconciler, KubernetesProvider, LeaderElector, StatusWriter, loadKubeConfig, loadManifests,
} from './providers/index.ts';
import { Store, snapshotOf } from './resources/index.ts';
import { AckTracker, IRPacker, IRUnpacker, isEnvelope, runSupervisor, type FleetEnvelope } from './supervisor/index.ts';
import { translate, type GatewayServiceType, type TranslateOptions } from './translator/index.ts';

export type { GatewayServiceType };

export const DEFAULT_CONTROLLER_NAME = 'waygate.dev/gateway-controller';

export interface KubernetesServeOptions {
  readonly kubeconfig?: string;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly leaderElection: { readonly namespace: string; readonly name: string; readonly leaseDurationMs: number };
  /** Namespace of the Waygate pods: where each Gateway's Service is kept. */
  readonly podNamespace: string;
  readonly gatewayServiceType: GatewayServiceType;
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
  /** The zone the proxy runs in (`--zone`, default `$WAYGATE_ZONE`): backends with zone preference favour it. */
  readonly zone?: string;
  /** Re-run this script to start child processes (supervisor mode). */
  readonly entry: string;
  readonly args: readonly string[];
}

export interface TranslateCommandOptions {
  readonly manifests: readonly string[];
  /** Translate as `serve --kubernetes` does: a Service and container ports per Gateway. */
  readonly kubernetes?: KubernetesDeploymentOptions;
  readonly output: 'yaml' | 'json';
  readonly listenAddress: string;
  readonly controllerName: string;
}

/** `waygate serve`: picks the process role from the environment. */
export async function serve(options: ServeOptions): Promise<void> {
  const workers = options.workers ?? availableParallelism();
  const role = process.env.WAYGATE_ROLE;
  if (workers === 0) return serveSingleProcess(options);
  if (role === 'worker') return serveWorker(options);
  if (role === 'controller') return serveController(options);
  const logger = createLogger({ role: 'supervisor' });
  // One secret for the fleet's sticky cookies and session tokens, inherited by every child (set
  // WAYGATE_STICKY_SECRET to share it with other replicas).
  process.env[STICKY_SECRET_ENV] ||= randomBytes(32).toString('base64url');
  const supervisor = runSupervisor({ entry: options.entry, args: options.args, workers, logger });
  logger.info({ workers }, 'waygate started');
  onShutdown(logger, () => supervisor.stop());
}

/** What the Kubernetes deployment model needs to know (also offline, for `translate --deployment kubernetes`). */
export type KubernetesDeploymentOptions = Pick<KubernetesServeOptions, 'podNamespace' | 'gatewayServiceType' | 'proxySelector'>;

function translateOptions(o: { listenAddress: string; controllerName: string; kubernetes?: KubernetesDeploymentOptions }): TranslateOptions {
  const base = { controllerName: o.controllerName, listenAddress: o.listenAddress };
  if (!o.kubernetes) return base;
  return {
    ...base,
    deployment: {
      kind: 'kubernetes',
      namespace: o.kubernetes.podNamespace,
      proxySelector: o.kubernetes.proxySelector,
      serviceType: o.kubernetes.gatewayServiceType,
    },
  };
}

interface Source {
  start(): Promise<void>;
  stop(): Promise<void>;
  errors(): unknown[];
  ready(): { ready: boolean; reason: string };
}

/** Controller side shared by the single-process and controller roles. */
async function startControllerSide(options: ServeOptions, logger: Logger, publisher: ConfigPublisher) {
  const store = new Store();
  const controller = new Controller({ store, translate: translateOptions(options), publisher, logger });
  const sources: Source[] = [];
  if (options.manifests.length > 0) {
    const file = new FileProvider({ paths: options.manifests, store, logger });
    sources.push({ start: () => file.start(), stop: () => file.stop(), errors: () => file.errors(), ready: () => ({ ready: true, reason: '' }) });
  }
  const cluster = options.kubernetes ? startClusterSide(options.kubernetes, options.controllerName, store, controller, logger) : undefined;
  if (cluster) sources.push(cluster.source);
  // The first build sees every source whole: each start() resolves once its first read is done.
  await Promise.all(sources.map((s) => s.start()));
  controller.start();
  cluster?.afterSync();
  const ready = () => {
    for (const s of sources) {
      const r = s.ready();
      if (!r.ready) return r;
    }
    return controller.ready();
  };
  const admin = await startAdminServer({
    address: options.adminAddress,
    logger,
    source: {
      ready,
      statuses: () => controller.objectStatuses(),
      // The admin API shows the IR with private keys redacted (redactIR); workers get it whole.
      config: () => {
        const published = controller.published;
        return published ? { ...published, ir: redactIR(published.ir) } : undefined;
      },
      problems: () => sources.flatMap((s) => s.errors()),
    },
  });
  const health = options.healthAddress ? await startHealthServer({ address: options.healthAddress, ready, logger }) : undefined;
  return {
    controller,
    async stop() {
      controller.stop();
      await Promise.all(sources.map((s) => s.stop()));
      for (const server of [admin, health]) {
        server?.close();
        server?.closeAllConnections();
      }
    },
  };
}

/**
 * `--kubernetes`: informers feed the store; one replica, elected by a Lease, writes status and
 * keeps each Gateway's Service; every replica serves traffic.
 */
function startClusterSide(k: KubernetesServeOptions, controllerName: string, store: Store, controller: Controller, logger: Logger) {
  const kubeConfig = loadKubeConfig({ kubeconfig: k.kubeconfig });
  const provider = new KubernetesProvider({ store, logger, kubeConfig, namespace: k.namespace, labelSelector: k.labelSelector });
  const elector = new LeaderElector({
    kubeConfig, logger,
    namespace: k.leaderElection.namespace,
    name: k.leaderElection.name,
    leaseDurationMs: k.leaderElection.leaseDurationMs,
    // client-go's proportions: renew within 2/3 of the lease, retry every 2/15 of it.
    renewDeadlineMs: Math.round(k.leaderElection.leaseDurationMs * 2 / 3),
    retryPeriodMs: Math.round(k.leaderElection.leaseDurationMs * 2 / 15),
  });
  const isLeader = () => elector.isLeader();
  // The sweep for left-over route entries stays within what this replica watches.
  const writer = new StatusWriter({ kubeConfig, logger, controllerName, isLeader, namespace: k.namespace, labelSelector: k.labelSelector });
  const services = new GatewayServiceReconciler({ kubeConfig, logger, namespace: k.podNamespace, isLeader });
  elector.onStartedLeading(() => {
    writer.reconcileAll();
    services.resync();
  });
  const source: Source = {
    start: () => provider.start(),
    async stop() {
      await Promise.all([writer.stop(), services.stop()]);
      await elector.stop();
      await provider.stop();
    },
    errors: () => provider.errors(),
    ready: () => {
      const h = provider.health();
      if (h.ready) return { ready: true, reason: '' };
      const waiting = Object.entries(h.kinds).filter(([, kh]) => !kh.synced && kh.state !== 'disabled').map(([kind]) => kind);
      return { ready: false, reason: `Kubernetes informers not synced: ${waiting.join(', ')}` };
    },
  };
  return {
    source,
    /** Sinks start only after the informers synced: an empty first view would delete Services. */
    afterSync() {
      controller.onResult((result, snapshot) => services.update(result.services ?? [], snapshot.services));
      controller.onStatuses((statuses) => writer.update(statuses));
      writer.start();
      elector.start();
    },
  };
}

async function serveSingleProcess(options: ServeOptions): Promise<void> {
  const logger = createLogger({ role: 'single' });
  const dataplane = new DataPlane(balancingOptions(options));
  // Active health checks in-process; their results go straight to the data plane.
  const checker = new ActiveHealthChecker({
    onUpdate: (update) => {
      logHealth(logger, update);
      dataplane.applyHealth(update);
    },
  });
  const tracker = new AckTracker();
  tracker.addWorker('inline');
  let controller: Controller | undefined;
  const publisher: ConfigPublisher = {
    // DataPlane.apply() runs calls in order, so acks arrive in publish order.
    publish(version: string, ir: IR) {
      checker.update(ir);
      tracker.published(version);
      const receivedAt = wallClock();
      void dataplane.apply(version, ir).then((result) => {
        logger.debug({ receivedAt, ...dataplane.lastApply }, 'configuration live');
        tracker.ack('inline', version, result.binds);
        controller?.updateFleet(tracker.fleet());
      }, (err) => logger.warn({ err, version }, 'configuration not applied'));
    },
  };
  const side = await startControllerSide(options, logger, publisher);
  controller = side.controller;
  controller.updateFleet(tracker.fleet());
  onShutdown(logger, async () => {
    checker.close();
    await side.stop();
    await dataplane.close();
  });
}

async function serveController(options: ServeOptions): Promise<void> {
  const logger = createLogger({ role: 'controller' });
  // Active health checks run here, once per node; the supervisor relays their results to every worker.
  const checker = new ActiveHealthChecker({
    onUpdate: (update) => {
      logHealth(logger, update);
      process.send?.({ type: 'health', ...update });
    },
  });
  let side: Awaited<ReturnType<typeof startControllerSide>> | undefined;
  let earlyFleet: FleetEnvelope | undefined;
  // Listening before the first await: the supervisor sends the last health view right after the fork.
  process.on('message', (m) => {
    if (!isEnvelope(m)) return;
    if (m.type === 'health') checker.seed(m);
    else if (m.type === 'fleet') {
      if (side === undefined) earlyFleet = m;
      else side.controller.updateFleet(m);
    }
  });
  // Only the parts of the IR the supervisor does not hold yet cross the channel.
  const packer = new IRPacker();
  const publisher: ConfigPublisher = {
    publish: (version, ir) => {
      process.send?.({ type: 'config', version, packed: packer.pack(ir) });
      checker.update(ir);
    },
  };
  side = await startControllerSide(options, logger, publisher);
  if (earlyFleet !== undefined) side.controller.updateFleet(earlyFleet);
  const stop = () => {
    checker.close();
    return side!.stop();
  };
  process.on('disconnect', () => void stop().then(() => process.exit(0)));
  onShutdown(logger, stop);
}

/** Signs sticky cookies and session tokens; the same in every worker (and, when set, every replica). */
const STICKY_SECRET_ENV = 'WAYGATE_STICKY_SECRET';

/** The data plane's zone and the fleet's sticky secret (a random one of its own when the environment has none). */
function balancingOptions(options: ServeOptions): { zone?: string; stickySecret?: string } {
  const secret = process.env[STICKY_SECRET_ENV];
  return { ...(options.zone ? { zone: options.zone } : {}), ...(secret ? { stickySecret: secret } : {}) };
}

async function serveWorker(options: ServeOptions): Promise<void> {
  const id = process.env.WAYGATE_WORKER_ID ?? String(process.pid);
  const logger = createLogger({ role: id });
  const dataplane = new DataPlane({ reusePort: true, ...balancingOptions(options) });
  const unpacker = new IRUnpacker();
  process.on('message', (m) => {
    if (isEnvelope(m) && m.type === 'health') return dataplane.applyHealth(m);
    if (!isEnvelope(m) || m.type !== 'config') return;
    const receivedAt = wallClock();
    // Unpacked as it arrives, in order: the parts held are those of the last envelope.
    let ir: IR;
    try {
      ir = m.packed ? unpacker.unpack(m.packed) : m.ir!;
    } catch (err) {
      return logger.error({ err, version: m.version }, 'configuration not applied');
    }
    void dataplane.apply(m.version, ir).then((result) => {
      logger.debug({ receivedAt, ...dataplane.lastApply }, 'configuration live');
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

/** Health check transitions are rare and worth an operator's attention; a full view is not news. */
function logHealth(logger: Logger, update: HealthUpdate): void {
  if (update.full) return;
  for (const e of update.entries) {
    logger.info({ check: e.key, reason: e.reason }, e.healthy ? 'endpoint passes its health check' : 'endpoint fails its health check');
  }
}

/** Wall-clock milliseconds with a fraction, comparable across processes (for timings in logs). */
function wallClock(): number {
  return performance.timeOrigin + performance.now();
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
  const doc = { statuses: result.statuses, ir: redactIR(result.ir), ...(result.services ? { services: result.services } : {}) };
  const text = options.output === 'json' ? JSON.stringify(doc, null, 2) + '\n' : toYaml(doc, { aliasDuplicateObjects: false });
  const messages = errors.map((e) => `${e.file}${e.line ? `:${e.line}` : ''}: ${e.object ? `${e.object}: ` : ''}${e.message}`);
  return { text, errors: messages };
}
