// Where the routes attach: per listener, the attached routes and their rules by hostname, and
// the backends of every accepted route. Kept by the translation cache from one translation to
// the next and updated per route whose outcome changed, so that a change to one route among
// thousands costs about as much as that route (bench/event-to-live.ts). The order of entries in
// it follows the history of the records, but nothing built from it does: the IR orders routes by
// hostname and match precedence, and attachedRoutes counts distinct routes.
import type { ServicePortRef } from './backends.ts';
import type { AttachedRules } from './model.ts';

/** Where a route's valid rules attach: one entry per listener and hostname. */
export interface RouteAttachment {
  /** `<namespace>/<name>` of the Gateway. */
  readonly gateway: string;
  /** The listener's position in the Gateway's spec. */
  readonly listener: number;
  readonly entries: readonly AttachedRules[];
}

/** What processing one route yields for the table: immutable, compared by identity. */
export interface RouteRecord {
  readonly routeKey: string;
  readonly attachments: readonly RouteAttachment[];
  /** The backends of the rules, when the route is accepted by some parent. */
  readonly backends?: ReadonlyMap<string, ServicePortRef>;
}

/** One listener's attached routes. */
export interface ListenerAttachments {
  /** Route key → how many of its parentRefs attach here (a route counts once in attachedRoutes). */
  readonly routes: ReadonlyMap<string, number>;
  /** Hostname → the attached rules for it (order unspecified). */
  readonly byHostname: ReadonlyMap<string, readonly AttachedRules[]>;
}

interface HostnameGroup {
  /** Route key → its entries for this hostname (several when several parentRefs attach here). */
  readonly byRoute: Map<string, AttachedRules[]>;
  /** The entries of every route, rebuilt only after a change. */
  flat: readonly AttachedRules[] | undefined;
}

class ListenerTable {
  readonly routes = new Map<string, number>();
  readonly hostnames = new Map<string, HostnameGroup>();
  #view: ListenerAttachments | undefined;

  add(routeKey: string, entries: readonly AttachedRules[]): void {
    this.routes.set(routeKey, (this.routes.get(routeKey) ?? 0) + 1);
    for (const entry of entries) {
      let group = this.hostnames.get(entry.hostname);
      if (group === undefined) {
        group = { byRoute: new Map(), flat: undefined };
        this.hostnames.set(entry.hostname, group);
      }
      const own = group.byRoute.get(routeKey);
      if (own === undefined) group.byRoute.set(routeKey, [entry]);
      else own.push(entry);
      group.flat = undefined;
    }
    this.#view = undefined;
  }

  remove(routeKey: string, entries: readonly AttachedRules[]): void {
    const count = this.routes.get(routeKey) ?? 0;
    if (count <= 1) this.routes.delete(routeKey);
    else this.routes.set(routeKey, count - 1);
    for (const entry of entries) {
      const group = this.hostnames.get(entry.hostname);
      const own = group?.byRoute.get(routeKey);
      if (group === undefined || own === undefined) continue;
      const at = own.indexOf(entry);
      if (at >= 0) own.splice(at, 1);
      if (own.length === 0) group.byRoute.delete(routeKey);
      if (group.byRoute.size === 0) this.hostnames.delete(entry.hostname);
      group.flat = undefined;
    }
    this.#view = undefined;
  }

  /** The same object until the next change, so unchanged listeners compare cheaply. */
  view(): ListenerAttachments {
    if (this.#view !== undefined) return this.#view;
    const byHostname = new Map<string, readonly AttachedRules[]>();
    for (const [hostname, group] of this.hostnames) {
      group.flat ??= [...group.byRoute.values()].flat();
      byHostname.set(hostname, group.flat);
    }
    this.#view = { routes: this.routes, byHostname };
    return this.#view;
  }
}

/** A listener no route attaches to. */
export const NO_ATTACHMENTS: ListenerAttachments = { routes: new Map(), byHostname: new Map() };

export class AttachmentTable {
  readonly #records = new Map<string, RouteRecord>();
  readonly #listeners = new Map<string, ListenerTable>();
  /** Backend name → the first ref recorded for it, and how many records name it. */
  readonly #backends = new Map<string, { ref: ServicePortRef; count: number }>();
  readonly #catalog = new Map<string, ServicePortRef>();

  /** Records the outcome of its route, replacing the route's last one. */
  record(record: RouteRecord): void {
    const known = this.#records.get(record.routeKey);
    if (known === record) return;
    if (known !== undefined) this.#apply(known, -1);
    this.#records.set(record.routeKey, record);
    this.#apply(record, 1);
  }

  /** How many routes the table holds. */
  get size(): number {
    return this.#records.size;
  }

  /** Forgets the routes `keep` says no (deleted, or no longer in the snapshot). */
  retain(keep: (record: RouteRecord) => boolean): void {
    for (const [key, record] of this.#records) {
      if (keep(record)) continue;
      this.#apply(record, -1);
      this.#records.delete(key);
    }
  }

  listener(gateway: string, index: number): ListenerAttachments {
    return this.#listeners.get(listenerKey(gateway, index))?.view() ?? NO_ATTACHMENTS;
  }

  /** Every backend of the accepted routes, by IR name. */
  get backends(): ReadonlyMap<string, ServicePortRef> {
    return this.#catalog;
  }

  #apply(record: RouteRecord, sign: 1 | -1): void {
    for (const a of record.attachments) {
      const key = listenerKey(a.gateway, a.listener);
      let table = this.#listeners.get(key);
      if (table === undefined) {
        table = new ListenerTable();
        this.#listeners.set(key, table);
      }
      if (sign > 0) table.add(record.routeKey, a.entries);
      else table.remove(record.routeKey, a.entries);
      if (table.routes.size === 0 && table.hostnames.size === 0) this.#listeners.delete(key);
    }
    record.backends?.forEach((ref, name) => this.#countBackend(name, ref, sign));
  }

  #countBackend(name: string, ref: ServicePortRef, sign: 1 | -1): void {
    const known = this.#backends.get(name);
    if (sign > 0) {
      // Refs of one name are equal in content (the name is made of it); the first is kept, so
      // the catalog's refs stay the same objects while their backends stay in use.
      if (known !== undefined) known.count++;
      else {
        this.#backends.set(name, { ref, count: 1 });
        this.#catalog.set(name, ref);
      }
    } else if (known !== undefined && known.count > 1) {
      known.count--;
    } else {
      this.#backends.delete(name);
      this.#catalog.delete(name);
    }
  }
}

function listenerKey(gateway: string, index: number): string {
  return `${gateway}#${index}`;
}
