// Active health checks, run once per node (in the controller process, or in-process with
// `--workers 0`), never per worker: one probe loop per distinct endpoint and check, whichever
// backends and routes use them. Results go to every worker as health updates: only changes,
// and a full view after the first configuration.
import type { IR } from '../../ir/index.ts';
import { contentHash } from '../../util/index.ts';
import { firstProbeDelay, healthKey, nextProbeDelay, resolveHealthCheck, type HealthCheckSpec } from './health-check.ts';
import type { HealthEntry, HealthUpdate } from './health-view.ts';
import { probeEndpoint, type Probe, type ProbeResult } from './probe.ts';

export interface ActiveHealthCheckerOptions {
  /** Called with every change, and once with the full view after the first update(). */
  readonly onUpdate: (update: HealthUpdate) => void;
  /** Defaults to Math.random; injected by tests. */
  readonly random?: () => number;
}

/** One endpoint under one check, with its probe loop. */
interface Target {
  readonly key: string;
  readonly spec: HealthCheckSpec;
  readonly address: string;
  readonly port: number;
  healthy: boolean;
  /** Passed or failed probes in a row. */
  passes: number;
  fails: number;
  /** Completed probes. */
  probes: number;
  timer: NodeJS.Timeout | undefined;
  probe: Probe | undefined;
  stopped: boolean;
}

/** What the checker knows of one endpoint, for the admin view and tests. */
export interface TargetStatus {
  readonly key: string;
  readonly healthy: boolean;
  readonly probes: number;
}

export class ActiveHealthChecker {
  readonly #onUpdate: (update: HealthUpdate) => void;
  readonly #random: () => number;
  readonly #targets = new Map<string, Target>();
  /** Keys a previous checker found unhealthy: they start unhealthy here (see seed()). */
  #seed = new Set<string>();
  #sentFull = false;
  #closed = false;

  constructor(options: ActiveHealthCheckerOptions) {
    this.#onUpdate = options.onUpdate;
    this.#random = options.random ?? Math.random;
  }

  /** Probes the endpoints of every backend with a health check in `ir`; stops the others. */
  update(ir: IR): void {
    if (this.#closed) return;
    const wanted = new Map<string, { spec: HealthCheckSpec; address: string; port: number }>();
    for (const backend of ir.backends) {
      const check = backend.policy?.healthCheck;
      if (check === undefined) continue;
      const spec = resolveHealthCheck(check);
      const id = contentHash(spec);
      for (const e of backend.endpoints) {
        const key = healthKey(id, e.address, e.port);
        if (!wanted.has(key)) wanted.set(key, { spec, address: e.address, port: e.port });
      }
    }
    const changes: HealthEntry[] = [];
    for (const [key, t] of this.#targets) {
      if (wanted.has(key)) continue;
      this.#stop(t);
      this.#targets.delete(key);
      // Workers drop the key, so that the view holds only endpoints that are checked.
      if (!t.healthy) changes.push({ key, healthy: true, reason: 'no longer checked' });
    }
    for (const [key, w] of wanted) {
      if (this.#targets.has(key)) continue;
      const t: Target = {
        key, spec: w.spec, address: w.address, port: w.port,
        healthy: !this.#seed.has(key), passes: 0, fails: 0, probes: 0, timer: undefined, probe: undefined, stopped: false,
      };
      this.#targets.set(key, t);
      this.#schedule(t, firstProbeDelay(t.spec, this.#random));
    }
    if (!this.#sentFull) {
      this.#sentFull = true;
      this.#onUpdate(this.view());
    } else if (changes.length > 0) this.#onUpdate({ full: false, entries: changes });
  }

  /**
   * The view of a checker that ran before this one (a restarted controller process): its
   * unhealthy endpoints start unhealthy here, instead of taking traffic until probes fail again.
   */
  seed(view: HealthUpdate): void {
    if (this.#closed) return;
    this.#seed = new Set(view.entries.filter((e) => !e.healthy).map((e) => e.key));
    const changes: HealthEntry[] = [];
    for (const t of this.#targets.values()) {
      const healthy = !this.#seed.has(t.key);
      if (t.probes > 0 || t.healthy === healthy) continue;
      t.healthy = healthy;
      changes.push({ key: t.key, healthy });
    }
    if (this.#sentFull && changes.length > 0) this.#onUpdate({ full: false, entries: changes });
  }

  /** Every unhealthy endpoint, as a full update. */
  view(): HealthUpdate {
    const entries: HealthEntry[] = [];
    for (const t of this.#targets.values()) if (!t.healthy) entries.push({ key: t.key, healthy: false });
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { full: true, entries };
  }

  status(): TargetStatus[] {
    return [...this.#targets.values()].map((t) => ({ key: t.key, healthy: t.healthy, probes: t.probes }))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
  }

  /** Stops every probe loop; probes in flight are cancelled. */
  close(): void {
    this.#closed = true;
    for (const t of this.#targets.values()) this.#stop(t);
    this.#targets.clear();
  }

  #schedule(t: Target, delayMs: number): void {
    t.timer = setTimeout(() => this.#run(t), delayMs);
    t.timer.unref();
  }

  #run(t: Target): void {
    t.timer = undefined;
    if (t.stopped) return;
    const probe = probeEndpoint(t.spec, t.address, t.port);
    t.probe = probe;
    void probe.done.then((result) => this.#finish(t, result));
  }

  /** Counts the probe toward a threshold; the next one starts an interval (plus jitter) later. */
  #finish(t: Target, result: ProbeResult): void {
    t.probe = undefined;
    if (t.stopped) return;
    t.probes++;
    if (result.ok) {
      t.fails = 0;
      t.passes++;
      if (!t.healthy && t.passes >= t.spec.healthyThreshold) this.#flip(t, true, result.reason);
    } else {
      t.passes = 0;
      t.fails++;
      if (t.healthy && t.fails >= t.spec.unhealthyThreshold) this.#flip(t, false, result.reason);
    }
    this.#schedule(t, nextProbeDelay(t.spec, this.#random));
  }

  #flip(t: Target, healthy: boolean, reason: string): void {
    t.healthy = healthy;
    this.#onUpdate({ full: false, entries: [{ key: t.key, healthy, reason }] });
  }

  #stop(t: Target): void {
    t.stopped = true;
    if (t.timer !== undefined) clearTimeout(t.timer);
    t.timer = undefined;
    t.probe?.cancel();
  }
}
