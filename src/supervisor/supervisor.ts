// The supervisor: starts one controller process and N proxy workers, relays configuration and
// health envelopes to workers and acks back as fleet state, respawns processes that die, and drains
// workers on shutdown. It holds no configuration logic of its own.
import { fork, type ChildProcess } from 'node:child_process';
import type { IR } from '../ir/index.ts';
import type { Logger } from '../observability/index.ts';
import { AckTracker } from './ack-tracker.ts';
import { HealthRelay } from './health-relay.ts';
import { IRPacker, IRUnpacker } from './ir-parts.ts';
import { isEnvelope } from './messages.ts';

export interface SupervisorOptions {
  /** The script each child runs (the CLI entry point), with its arguments. */
  readonly entry: string;
  readonly args: readonly string[];
  readonly workers: number;
  readonly logger: Logger;
  /** How long workers may take to drain on shutdown before they are killed. */
  readonly drainMs?: number;
}

const MAX_BACKOFF_MS = 30_000;

export function runSupervisor(options: SupervisorOptions): { stop(): Promise<void> } {
  const tracker = new AckTracker();
  const workers = new Map<string, ChildProcess>();
  const backoff = new Map<string, number>();
  let controller: ChildProcess | undefined;
  let lastConfig: { readonly version: string; readonly ir: IR } | undefined;
  // Configurations arrive in parts and leave in parts: each worker gets the parts it does not hold.
  const unpacker = new IRUnpacker();
  const packers = new Map<string, IRPacker>();
  const sendConfig = (id: string, child: ChildProcess) => {
    if (!lastConfig || !child.connected) return;
    child.send({ type: 'config', version: lastConfig.version, packed: packers.get(id)!.pack(lastConfig.ir) });
  };
  const health = new HealthRelay();
  let stopping = false;
  const log = options.logger;

  const sendFleet = () => controller?.connected && controller.send({ type: 'fleet', ...tracker.fleet() });

  const spawn = (role: string, id: string): ChildProcess => {
    const child = fork(options.entry, [...options.args], {
      env: { ...process.env, WAYGATE_ROLE: role, WAYGATE_WORKER_ID: id },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const startedAt = Date.now();
    child.on('exit', (code, signal) => {
      if (stopping) return;
      const delay = restartDelay(id, Date.now() - startedAt);
      log.error({ role, id, code, signal, restartInMs: delay }, 'child process exited; restarting');
      if (role === 'worker') {
        workers.delete(id);
        tracker.removeWorker(id);
        sendFleet();
      }
      setTimeout(() => !stopping && (role === 'worker' ? startWorker(id) : startController()), delay);
    });
    return child;
  };

  const restartDelay = (id: string, ranMs: number): number => {
    const prev = ranMs > 60_000 ? 0 : (backoff.get(id) ?? 0);
    const next = Math.min(MAX_BACKOFF_MS, prev ? prev * 2 : 250);
    backoff.set(id, next);
    return next;
  };

  const startWorker = (id: string) => {
    const child = spawn('worker', id);
    workers.set(id, child);
    packers.set(id, new IRPacker(unpacker.hashOf));
    tracker.addWorker(id);
    child.on('message', (m) => {
      if (!isEnvelope(m) || m.type !== 'ack') return;
      tracker.ack(id, m.version, m.binds);
      sendFleet();
    });
    // The health view first, so that the first configuration already avoids unhealthy endpoints.
    const view = health.full();
    if (view) child.send(view);
    sendConfig(id, child);
    sendFleet();
  };

  const startController = () => {
    controller = spawn('controller', 'controller');
    // A restarted controller's health checks start from the view the last one left.
    const view = health.full();
    if (view) controller.send(view);
    controller.on('message', (m) => {
      if (!isEnvelope(m)) return;
      if (m.type === 'health') {
        health.apply(m);
        for (const w of workers.values()) if (w.connected) w.send(m);
        return;
      }
      if (m.type !== 'config') return;
      try {
        lastConfig = { version: m.version, ir: m.packed ? unpacker.unpack(m.packed) : m.ir! };
      } catch (err) {
        log.error({ err, version: m.version }, 'configuration not relayed');
        return;
      }
      tracker.published(m.version);
      for (const [id, w] of workers) sendConfig(id, w);
      sendFleet();
    });
    sendFleet();
  };

  for (let i = 0; i < options.workers; i++) startWorker(`worker-${i}`);
  startController();

  return {
    async stop() {
      stopping = true;
      const all = [...workers.values(), ...(controller ? [controller] : [])];
      await Promise.all(all.map((c) => terminate(c, options.drainMs ?? 30_000)));
    },
  };
}

/** SIGTERM (workers drain), then SIGKILL after the grace period. */
function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGTERM');
  });
}
