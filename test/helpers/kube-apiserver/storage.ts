// etcd plus the watch cache, for the test API server: one global resourceVersion bumped by
// every write, a bounded history of events that watches replay from, a compaction point
// below which old revisions are gone (410), and reads at an older revision for `continue`.
import { StatusError, errors } from './errors.ts';
import {
  applyDefaults, checkName, keepServerFields, now, recordManager, sameJson, specPart, stampNew, statusOnly,
} from './object-rules.ts';
import { resourceName, type KubeJson, type ResourceDef } from './resources.ts';
import type { Matcher } from './selectors.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

interface StoredEvent {
  readonly rv: number;
  readonly type: EventType;
  readonly resource: string;
  readonly key: string;
  /** The object after the change; for DELETED, the last state stamped with the deletion's revision. */
  readonly object: KubeJson;
  /** The object before the change (MODIFIED, DELETED). */
  readonly prev?: KubeJson;
}

export interface WatchSink {
  send(type: EventType, object: KubeJson): void;
  /** The resource stopped being served (CRD removed): end the stream. */
  end(): void;
}

export interface WatchFilter {
  readonly namespace?: string;
  readonly match: Matcher;
}

interface Watcher extends WatchFilter {
  readonly resource: string;
  readonly sink: WatchSink;
}

export interface WriteOptions {
  /** The `fieldManager` of the request (managedFields). */
  readonly manager?: string;
  readonly subresource?: 'status';
}

export interface StorageOptions {
  /** Events kept for watches to replay; older ones are compacted away (like the watch cache's capacity). */
  readonly historySize?: number;
  readonly initialResourceVersion?: number;
}

export const objectKey = (def: ResourceDef, namespace: string | undefined, name: string): string => (def.namespaced ? `${namespace}/${name}` : name);

export class Storage {
  #rv: number;
  #compactedRv: number;
  readonly #historySize: number;
  readonly #history: StoredEvent[] = [];
  readonly #objects = new Map<string, Map<string, KubeJson>>();
  readonly #watchers = new Set<Watcher>();
  readonly #rvWaiters = new Set<() => void>();

  constructor(options: StorageOptions = {}) {
    this.#rv = options.initialResourceVersion ?? 100;
    this.#compactedRv = this.#rv;
    this.#historySize = options.historySize ?? 10_000;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  /** The oldest revision a watch or a continued list can start from. */
  get compactedResourceVersion(): number {
    return this.#compactedRv;
  }

  compact(): void {
    this.#compactedRv = this.#rv;
    this.#history.length = 0;
  }

  #bucket(def: ResourceDef): Map<string, KubeJson> {
    const name = resourceName(def);
    let bucket = this.#objects.get(name);
    if (!bucket) this.#objects.set(name, (bucket = new Map()));
    return bucket;
  }

  has(def: ResourceDef, namespace: string | undefined, name: string): boolean {
    return this.#bucket(def).has(objectKey(def, namespace, name));
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): KubeJson {
    const obj = this.#bucket(def).get(objectKey(def, namespace, name));
    if (!obj) throw errors.notFound(def, name);
    return structuredClone(obj);
  }

  /** Objects of `def` at revision `rv` (the current one by default), sorted by key like etcd. */
  itemsAt(def: ResourceDef, rv = this.#rv): [string, KubeJson][] {
    if (rv < this.#compactedRv) throw errors.expiredContinue();
    const state = new Map(this.#bucket(def));
    const name = resourceName(def);
    for (let i = this.#history.length - 1; i >= 0 && this.#history[i].rv > rv; i--) {
      const ev = this.#history[i];
      if (ev.resource !== name) continue;
      if (ev.type === 'ADDED') state.delete(ev.key);
      else state.set(ev.key, ev.prev!);
    }
    return [...state.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  create(def: ResourceDef, body: KubeJson, pathNamespace: string | undefined, options: WriteOptions = {}): KubeJson {
    const obj = structuredClone(body);
    checkName(def, obj, pathNamespace);
    if (def.namespaced) this.#requireNamespace(obj.metadata.namespace);
    const key = objectKey(def, obj.metadata.namespace, obj.metadata.name);
    if (this.#bucket(def).has(key)) throw errors.alreadyExists(def, obj.metadata.name);
    stampNew(def, obj);
    applyDefaults(def, obj, undefined);
    recordManager(obj, undefined, options.manager ?? 'unknown', undefined);
    return this.#write(def, key, 'ADDED', obj, undefined);
  }

  /**
   * PUT: optimistic concurrency on metadata.resourceVersion (empty means unconditional where the
   * type allows it: custom resources do not). On `/status` only `.status` changes; on the main
   * resource `.status` is ignored for types with a status subresource.
   */
  update(def: ResourceDef, body: KubeJson, pathNamespace: string | undefined, pathName: string, options: WriteOptions = {}): KubeJson {
    if (body.metadata?.name && body.metadata.name !== pathName) {
      throw errors.badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${pathName})`);
    }
    let obj = structuredClone(body);
    obj.metadata.name = pathName;
    checkName(def, obj, pathNamespace);
    const key = objectKey(def, obj.metadata.namespace, pathName);
    const old = this.#bucket(def).get(key);
    if (!old) throw errors.notFound(def, pathName);
    const rv = obj.metadata.resourceVersion;
    if (!rv && def.crd) {
      throw errors.invalid(def, pathName, [{ field: 'metadata.resourceVersion', message: 'Invalid value: 0x0: must be specified for an update' }]);
    }
    if (rv && rv !== old.metadata.resourceVersion) throw errors.conflict(def, pathName);
    if (obj.metadata.uid && obj.metadata.uid !== old.metadata.uid) {
      throw errors.conflictPrecondition(def, pathName, `Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    if (options.subresource === 'status') obj = statusOnly(obj, old);
    else {
      keepServerFields(def, obj, old);
      applyDefaults(def, obj, old);
      if (!sameJson(specPart(def, obj), specPart(def, old))) obj.metadata.generation = (old.metadata.generation ?? 0) + 1;
    }
    obj.metadata.resourceVersion = old.metadata.resourceVersion;
    obj.metadata.managedFields = old.metadata.managedFields;
    // A write that changes nothing is not a write: no new revision, no event (etcd3 GuaranteedUpdate).
    if (sameJson(obj, old)) return structuredClone(old);
    recordManager(obj, old, options.manager ?? 'unknown', options.subresource);
    if (obj.metadata.deletionTimestamp && !(obj.metadata.finalizers?.length > 0)) return this.#delete(def, key, obj);
    return this.#write(def, key, 'MODIFIED', obj, old);
  }

  /** DELETE. Objects with finalizers get a deletionTimestamp and stay until the finalizers are gone. */
  delete(def: ResourceDef, namespace: string | undefined, name: string, preconditions: { uid?: string; resourceVersion?: string } = {}): KubeJson {
    const key = objectKey(def, namespace, name);
    const old = this.#bucket(def).get(key);
    if (!old) throw errors.notFound(def, name);
    if (preconditions.uid && preconditions.uid !== old.metadata.uid) {
      throw errors.conflictPrecondition(def, name, `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    if (preconditions.resourceVersion && preconditions.resourceVersion !== old.metadata.resourceVersion) {
      throw errors.conflictPrecondition(def, name, `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`);
    }
    if (def.plural === 'namespaces') return this.#deleteNamespace(def, key, old);
    if (old.metadata.finalizers?.length > 0) {
      if (old.metadata.deletionTimestamp) return structuredClone(old);
      const marked = structuredClone(old);
      marked.metadata.deletionTimestamp = now();
      marked.metadata.deletionGracePeriodSeconds = 0;
      return this.#write(def, key, 'MODIFIED', marked, old);
    }
    return this.#delete(def, key, old);
  }

  /** Namespace deletion: Terminating, then its contents go, then the namespace (the namespace controller's work, done at once). */
  #deleteNamespace(def: ResourceDef, key: string, old: KubeJson): KubeJson {
    const terminating = structuredClone(old);
    terminating.metadata.deletionTimestamp ??= now();
    terminating.status = { ...(terminating.status ?? {}), phase: 'Terminating' };
    const result = this.#write(def, key, 'MODIFIED', terminating, old);
    for (const bucket of this.#objects.values()) {
      for (const [k, obj] of [...bucket.entries()]) {
        if (obj.metadata.namespace === old.metadata.name) this.#deleteStored(k, obj);
      }
    }
    this.#delete(def, key, this.#bucket(def).get(key)!);
    return result;
  }

  #deleteStored(key: string, obj: KubeJson): void {
    for (const [name, bucket] of this.#objects) {
      if (bucket.get(key) === obj) {
        bucket.delete(key);
        const rv = ++this.#rv;
        const gone = structuredClone(obj);
        gone.metadata.resourceVersion = String(rv);
        this.#emit({ rv, type: 'DELETED', resource: name, key, object: gone, prev: obj });
        return;
      }
    }
  }

  #delete(def: ResourceDef, key: string, old: KubeJson): KubeJson {
    const bucket = this.#bucket(def);
    const stored = bucket.get(key)!;
    bucket.delete(key);
    const rv = ++this.#rv;
    const gone = structuredClone(old);
    gone.metadata.resourceVersion = String(rv);
    this.#emit({ rv, type: 'DELETED', resource: resourceName(def), key, object: gone, prev: stored });
    return structuredClone(gone);
  }

  #write(def: ResourceDef, key: string, type: EventType, obj: KubeJson, old: KubeJson | undefined): KubeJson {
    const rv = ++this.#rv;
    obj.metadata.resourceVersion = String(rv);
    this.#bucket(def).set(key, obj);
    this.#emit({ rv, type, resource: resourceName(def), key, object: obj, prev: old });
    return structuredClone(obj);
  }

  #requireNamespace(namespace: string): void {
    const ns = this.#objects.get('namespaces')?.get(namespace);
    if (!ns) throw errors.namespaceNotFound(namespace);
    if (ns.metadata.deletionTimestamp) {
      throw new StatusError(403, 'Forbidden', `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }

  #emit(ev: StoredEvent): void {
    this.#history.push(ev);
    while (this.#history.length > this.#historySize) this.#compactedRv = this.#history.shift()!.rv;
    for (const w of this.#watchers) if (w.resource === ev.resource) deliver(w, ev);
    for (const wake of this.#rvWaiters) wake();
  }

  /** Resolves once the store reaches `rv`, or false after `timeoutMs` (a "too large resource version"). */
  async waitFor(rv: number, timeoutMs: number): Promise<boolean> {
    if (rv <= this.#rv) return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#rvWaiters.delete(check);
        resolve(ok);
      };
      const check = () => {
        if (rv <= this.#rv) done(true);
      };
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#rvWaiters.add(check);
    });
  }

  /**
   * Start a watch. `fromRv` undefined: synthetic ADDED events for the current state, then changes.
   * Otherwise every event after `fromRv` is replayed first (410 if compacted). Replay and
   * subscription happen in one turn, so no event falls between them.
   */
  watch(def: ResourceDef, filter: WatchFilter, fromRv: number | undefined, sink: WatchSink): () => void {
    const resource = resourceName(def);
    if (fromRv !== undefined && fromRv < this.#compactedRv) throw errors.expiredWatch(fromRv, this.#compactedRv + 1);
    const watcher: Watcher = { ...filter, resource, sink };
    if (fromRv === undefined) {
      for (const [, obj] of this.itemsAt(def)) if (inScope(watcher, obj)) sink.send('ADDED', structuredClone(obj));
    } else {
      for (const ev of this.#history) if (ev.rv > fromRv && ev.resource === resource) deliver(watcher, ev);
    }
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  /** A CRD was removed: its objects are deleted (watchers hear it), then its watches end. */
  dropResource(def: ResourceDef): void {
    const resource = resourceName(def);
    for (const [key, obj] of this.#bucket(def)) this.#deleteStored(key, obj);
    for (const w of [...this.#watchers]) {
      if (w.resource === resource) {
        this.#watchers.delete(w);
        w.sink.end();
      }
    }
  }
}

function inScope(w: WatchFilter, obj: KubeJson | undefined): boolean {
  if (!obj) return false;
  if (w.namespace !== undefined && obj.metadata.namespace !== w.namespace) return false;
  return w.match(obj);
}

/**
 * What the watch cache sends one watcher for one event: an object that starts matching the
 * selectors is ADDED, one that stops matching is DELETED (its previous state, at the new revision).
 */
function deliver(w: Watcher, ev: StoredEvent): void {
  const prevOk = inScope(w, ev.prev);
  if (ev.type === 'DELETED') {
    if (prevOk) w.sink.send('DELETED', structuredClone(ev.object));
    return;
  }
  const curOk = inScope(w, ev.object);
  if (curOk) w.sink.send(prevOk ? 'MODIFIED' : 'ADDED', structuredClone(ev.object));
  else if (prevOk) {
    const gone = structuredClone(ev.prev!);
    gone.metadata.resourceVersion = String(ev.rv);
    w.sink.send('DELETED', gone);
  }
}
