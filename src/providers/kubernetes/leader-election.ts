// Lease-based leader election (coordination.k8s.io/v1), as client-go's leaderelection package
// does it. Every replica serves traffic; only the leader writes status.
//
// Times in the Lease are never compared with the local clock: a follower only notes *when it
// saw the record change* (observedAt, local time) and treats the lease as expired once
// leaseDurationSeconds have passed since then without a change. That tolerates any clock skew
// between replicas (not skew *rate*: keep leaseDuration/renewDeadline above the tolerated ratio).
// The leader steps down when it could not renew for renewDeadline, which is shorter than the
// leaseDuration a follower waits, so two leaders never overlap by the followers' reckoning.
// Updates use the observed resourceVersion: a 409 Conflict means another replica won the race.
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../../observability/index.ts';
import { callOptions, describeError, httpStatusOf } from './api-request.ts';

/** client-go's jitter on the acquire retry period. */
const JITTER_FACTOR = 1.2;

export interface LeaderElectionOptions {
  readonly kubeConfig: KubeConfig;
  readonly logger: Logger;
  /** Namespace and name of the Lease. */
  readonly namespace: string;
  readonly name: string;
  /** This replica's identity in `holderIdentity`; default: POD_NAME, else `<hostname>_<pid>`. */
  readonly identity?: string;
  /** How long followers wait without seeing a renewal before taking over (default 15 s). */
  readonly leaseDurationMs?: number;
  /** How long the leader keeps retrying a failed renewal before it steps down (default 10 s). */
  readonly renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew (default 2 s). */
  readonly retryPeriodMs?: number;
  /** Hand the lease over on `stop()` so a successor takes over at once (default true). */
  readonly releaseOnStop?: boolean;
  /** The local clock, in milliseconds (tests inject one). */
  readonly now?: () => number;
}

/** What the Lease says, as this replica last observed it. */
interface LeaseRecord {
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime?: Date;
  readonly renewTime?: Date;
  readonly leaseTransitions: number;
}

type Listener<T extends unknown[]> = (...args: T) => void;

export function defaultIdentity(): string {
  return process.env.POD_NAME || `${hostname()}_${process.pid}`;
}

export class LeaderElector {
  readonly #opts: LeaderElectionOptions;
  readonly #api: CoordinationV1Api;
  readonly #identity: string;
  readonly #leaseDurationMs: number;
  readonly #renewDeadlineMs: number;
  readonly #retryPeriodMs: number;
  readonly #now: () => number;
  #lease: V1Lease | undefined;
  #record: LeaseRecord | undefined;
  /** Local time at which the record was last seen to change. */
  #observedAt = 0;
  #leading = false;
  /** Local time at which the last successful renewal was *sent* (conservative). */
  #renewedAt = 0;
  #reportedLeader: string | undefined;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  readonly #started: Listener<[]>[] = [];
  readonly #stopped: Listener<[]>[] = [];
  readonly #newLeader: Listener<[string]>[] = [];

  constructor(options: LeaderElectionOptions) {
    this.#opts = options;
    this.#leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.#renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.#retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.#leaseDurationMs <= this.#renewDeadlineMs) throw new Error('leaseDuration must be greater than renewDeadline');
    if (this.#renewDeadlineMs <= JITTER_FACTOR * this.#retryPeriodMs) throw new Error('renewDeadline must be greater than retryPeriod*1.2');
    if (this.#retryPeriodMs <= 0) throw new Error('retryPeriod must be greater than zero');
    if (this.#leaseDurationMs < 1000) throw new Error('leaseDuration must be at least one second (the Lease counts whole seconds)');
    this.#identity = options.identity ?? defaultIdentity();
    if (!this.#identity) throw new Error('the leader election identity is empty');
    this.#now = options.now ?? Date.now;
    this.#api = options.kubeConfig.makeApiClient(CoordinationV1Api);
  }

  get identity(): string {
    return this.#identity;
  }

  /** The holder last observed (empty when the lease is free), or undefined before the first read. */
  get leader(): string | undefined {
    return this.#record?.holderIdentity;
  }

  /** True while this replica holds the lease and renewed it within the renew deadline. */
  isLeader(): boolean {
    return this.#leading && this.#now() - this.#renewedAt < this.#renewDeadlineMs;
  }

  onStartedLeading(listener: () => void): () => void {
    return subscribe(this.#started, listener);
  }

  onStoppedLeading(listener: () => void): () => void {
    return subscribe(this.#stopped, listener);
  }

  /** Hears each change of holder, including the first one observed. */
  onNewLeader(listener: (identity: string) => void): () => void {
    return subscribe(this.#newLeader, listener);
  }

  start(): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    this.#loop = this.#run(this.#abort.signal);
  }

  /**
   * Stop campaigning. A leader stops leading first (listeners hear it, so nothing guarded by the
   * lease runs any more), then releases the lease unless `releaseOnStop` is false.
   */
  async stop(): Promise<void> {
    if (!this.#loop) return;
    this.#abort.abort();
    await this.#loop;
    this.#loop = undefined;
    const wasLeading = this.#leading;
    this.#stepDown('stopping');
    if (wasLeading && (this.#opts.releaseOnStop ?? true)) await this.#release();
  }

  async #run(signal: AbortSignal): Promise<void> {
    this.#opts.logger.info({ lease: this.#describe(), identity: this.#identity }, 'attempting to acquire the leader lease');
    while (!signal.aborted) {
      const sentAt = this.#now();
      const ok = await this.#tryAcquireOrRenew(signal);
      if (signal.aborted) return;
      this.#reportTransition();
      if (ok) {
        this.#renewedAt = sentAt;
        if (!this.#leading) this.#becomeLeader();
      } else if (this.#leading && (!this.#holding() || this.#now() - this.#renewedAt >= this.#renewDeadlineMs)) {
        this.#stepDown(this.#holding() ? 'could not renew the lease within the renew deadline' : 'the lease has another holder');
      }
      const wait = this.#leading ? this.#retryPeriodMs : this.#retryPeriodMs * (1 + Math.random() * (JITTER_FACTOR - 1));
      try {
        await sleep(wait, undefined, { signal });
      } catch {
        return;
      }
    }
  }

  /** One attempt, as client-go's tryAcquireOrRenew. True when this replica holds the lease now. */
  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.#now();
    // Fast path: the leader renews the version it last wrote, without reading first.
    if (this.#holding() && this.#valid(now) && this.#lease) {
      if (await this.#replace(this.#lease, this.#renewal(now, this.#record!, true), signal)) return true;
      if (signal.aborted) return false;
    }
    let lease: V1Lease;
    try {
      lease = await this.#api.readNamespacedLease({ namespace: this.#opts.namespace, name: this.#opts.name }, callOptions(this.#callTimeout(), signal));
    } catch (err) {
      if (httpStatusOf(err) === 404) return this.#create(now, signal);
      if (!signal.aborted) this.#opts.logger.warn({ lease: this.#describe(), error: describeError(err) }, 'could not read the leader lease');
      return false;
    }
    this.#observe(lease);
    const record = this.#record!;
    if (record.holderIdentity && record.holderIdentity !== this.#identity && this.#valid(this.#now())) return false;
    return this.#replace(lease, this.#renewal(now, record, record.holderIdentity === this.#identity), signal);
  }

  /** The record to write: a renewal keeps acquireTime and the transition count. */
  #renewal(now: number, old: LeaseRecord, renewing: boolean): LeaseRecord {
    return {
      holderIdentity: this.#identity,
      leaseDurationSeconds: Math.round(this.#leaseDurationMs / 1000),
      acquireTime: renewing && old.acquireTime ? old.acquireTime : new Date(now),
      renewTime: new Date(now),
      leaseTransitions: renewing ? old.leaseTransitions : old.leaseTransitions + 1,
    };
  }

  async #create(now: number, signal: AbortSignal): Promise<boolean> {
    const record: LeaseRecord = {
      holderIdentity: this.#identity,
      leaseDurationSeconds: Math.round(this.#leaseDurationMs / 1000),
      acquireTime: new Date(now),
      renewTime: new Date(now),
      leaseTransitions: 0,
    };
    const body: V1Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { namespace: this.#opts.namespace, name: this.#opts.name },
      spec: leaseSpec(record),
    };
    try {
      this.#observe(await this.#api.createNamespacedLease({ namespace: this.#opts.namespace, body }, callOptions(this.#callTimeout(), signal)));
      return true;
    } catch (err) {
      // 409 AlreadyExists: another replica created it first.
      const level = httpStatusOf(err) === 409 ? 'debug' : 'warn';
      if (!signal.aborted) this.#opts.logger[level]({ lease: this.#describe(), error: describeError(err) }, 'could not create the leader lease');
      return false;
    }
  }

  /** Replace the Lease at the version `base` was read at; a 409 means someone else wrote first. */
  async #replace(base: V1Lease, record: LeaseRecord, signal?: AbortSignal): Promise<boolean> {
    const body: V1Lease = { ...base, spec: { ...base.spec, ...leaseSpec(record) } };
    try {
      this.#observe(await this.#api.replaceNamespacedLease({ namespace: this.#opts.namespace, name: this.#opts.name, body }, callOptions(this.#callTimeout(), signal)));
      return true;
    } catch (err) {
      if (signal?.aborted) return false;
      const status = httpStatusOf(err);
      const level = status === 409 ? 'debug' : 'warn';
      this.#opts.logger[level]({ lease: this.#describe(), error: describeError(err) }, 'could not update the leader lease');
      return false;
    }
  }

  /**
   * client-go's ReleaseOnCancel: an empty holder and a one-second duration, so a successor takes
   * over at once. A renewal aborted by stop() may still have reached the server, leaving this
   * replica's resourceVersion stale: on a conflict, read again and release if still the holder.
   */
  async #release(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!this.#lease || this.#record?.holderIdentity !== this.#identity) return;
      const now = this.#now();
      const record: LeaseRecord = {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: new Date(now),
        renewTime: new Date(now),
        leaseTransitions: this.#record.leaseTransitions,
      };
      if (await this.#replace(this.#lease, record)) {
        this.#opts.logger.info({ lease: this.#describe() }, 'released the leader lease');
        return;
      }
      try {
        this.#observe(await this.#api.readNamespacedLease({ namespace: this.#opts.namespace, name: this.#opts.name }, callOptions(this.#renewDeadlineMs)));
      } catch (err) {
        this.#opts.logger.warn({ lease: this.#describe(), error: describeError(err) }, 'could not release the leader lease');
        return;
      }
    }
  }

  /** Remember the lease; a new resourceVersion means the record changed, seen now. */
  #observe(lease: V1Lease): void {
    if (lease.metadata?.resourceVersion === this.#lease?.metadata?.resourceVersion && this.#record) return;
    this.#lease = lease;
    this.#record = recordOf(lease);
    this.#observedAt = this.#now();
  }

  #holding(): boolean {
    return this.#record?.holderIdentity === this.#identity;
  }

  /** Whether the observed record has been renewed recently, by this replica's clock. */
  #valid(now: number): boolean {
    return this.#record !== undefined && this.#observedAt + this.#record.leaseDurationSeconds * 1000 > now;
  }

  /** While leading, a call may take only what is left of the renew deadline. */
  #callTimeout(): number {
    if (!this.#leading) return this.#renewDeadlineMs;
    return Math.max(1, this.#renewDeadlineMs - (this.#now() - this.#renewedAt));
  }

  #becomeLeader(): void {
    this.#leading = true;
    this.#opts.logger.info({ lease: this.#describe(), identity: this.#identity }, 'acquired the leader lease');
    emit(this.#started, this.#opts.logger);
  }

  #stepDown(reason: string): void {
    if (!this.#leading) return;
    this.#leading = false;
    this.#opts.logger.info({ lease: this.#describe(), identity: this.#identity, reason }, 'stopped leading');
    emit(this.#stopped, this.#opts.logger);
  }

  #reportTransition(): void {
    const holder = this.#record?.holderIdentity;
    if (holder === undefined || holder === this.#reportedLeader) return;
    this.#reportedLeader = holder;
    emit(this.#newLeader, this.#opts.logger, holder);
  }

  #describe(): string {
    return `${this.#opts.namespace}/${this.#opts.name}`;
  }
}

function recordOf(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? '',
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: spec.acquireTime ? new Date(spec.acquireTime) : undefined,
    renewTime: spec.renewTime ? new Date(spec.renewTime) : undefined,
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

function leaseSpec(record: LeaseRecord): NonNullable<V1Lease['spec']> {
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: record.acquireTime && new MicroTime(record.acquireTime.getTime()),
    renewTime: record.renewTime && new MicroTime(record.renewTime.getTime()),
    leaseTransitions: record.leaseTransitions,
  };
}

/**
 * Lease times are metav1.MicroTime, which the API server parses with exactly six fractional
 * digits; `Date#toISOString` gives three and is rejected with 400. The client serializes a Date
 * through `toISOString`, so this one pads it.
 */
class MicroTime extends Date {
  override toISOString(): string {
    return super.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  }
}

function subscribe<T extends unknown[]>(list: Listener<T>[], listener: Listener<T>): () => void {
  list.push(listener);
  return () => {
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
  };
}

function emit<T extends unknown[]>(list: readonly Listener<T>[], logger: Logger, ...args: T): void {
  for (const listener of [...list]) {
    try {
      listener(...args);
    } catch (err) {
      logger.error({ err }, 'a leader election listener failed');
    }
  }
}
