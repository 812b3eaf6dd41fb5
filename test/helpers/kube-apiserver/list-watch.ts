// list and watch as kube-apiserver serves them: resourceVersion semantics, `limit`/`continue`
// pagination with tokens the server issues and checks, selectors, and the watch stream of JSON
// lines with bookmarks, timeouts and 410 Expired for a compacted resourceVersion.
import type { ServerResponse } from 'node:http';
import { StatusError, errors } from './errors.ts';
import { groupVersion, type KubeJson, type ResourceDef } from './resources.ts';
import { parseFieldSelector, parseLabelSelector, type Matcher } from './selectors.ts';
import type { Storage } from './storage.ts';

export type Query = Readonly<Record<string, string>>;

/** How long a request for a resourceVersion the server has not reached yet waits (the real one waits 3 s). */
export const TOO_LARGE_RV_WAIT_MS = 3000;

/** The object as served at `version`, apiVersion and kind first like the real encoder writes them. */
export function present(def: ResourceDef, version: string, obj: KubeJson): KubeJson {
  const { apiVersion: _a, kind: _k, ...rest } = obj;
  return { apiVersion: groupVersion(def.group, version), kind: def.kind, ...rest };
}

export function selectorOf(def: ResourceDef, query: Query): Matcher {
  const labels = parseLabelSelector(query.labelSelector);
  const fields = parseFieldSelector(query.fieldSelector, def);
  return (obj) => labels(obj) && fields(obj);
}

function parseRv(value: string): number {
  if (!/^\d+$/.test(value)) throw errors.badRequest(`resourceVersion: Invalid value: "${value}": must be a non-negative integer`);
  return Number(value);
}

interface ContinueToken {
  readonly v: string;
  readonly rv: number;
  readonly start: string;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start } satisfies ContinueToken)).toString('base64url');
}

function decodeContinue(token: string): ContinueToken {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw errors.badRequest('continue key is not valid: illegal base64 data at input byte 0');
  }
  const t = parsed as Partial<ContinueToken>;
  if (t?.v !== 'meta.k8s.io/v1') throw errors.badRequest(`continue key is not valid: server does not recognize this encoded key version "${String(t?.v)}"`);
  if (typeof t.rv !== 'number' || t.rv <= 0 || typeof t.start !== 'string') throw errors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  return t as ContinueToken;
}

/**
 * GET on a collection. resourceVersion: unset = most recent; "0" = any (served from the watch
 * cache, which ignores `limit`); N with match NotOlderThan (or no match and no limit) = at least
 * N; N with match Exact (or no match and a limit) = exactly N, 410 once compacted.
 */
export async function list(storage: Storage, def: ResourceDef, version: string, namespace: string | undefined, query: Query): Promise<KubeJson> {
  const match = selectorOf(def, query);
  const limit = query.limit ? Number(query.limit) : 0;
  if (!Number.isInteger(limit) || limit < 0) throw errors.badRequest(`limit: Invalid value: "${query.limit}": must be a non-negative integer`);
  const rvParam = query.resourceVersion ?? '';
  const rvMatch = query.resourceVersionMatch ?? '';
  if (rvMatch && rvMatch !== 'Exact' && rvMatch !== 'NotOlderThan') throw errors.badRequest(`resourceVersionMatch: Unsupported value: "${rvMatch}": supported values: "Exact", "NotOlderThan"`);
  if (rvMatch && rvParam === '') throw errors.badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided');
  if (rvMatch === 'Exact' && rvParam === '0') throw errors.badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"');

  let readRv = storage.resourceVersion;
  let start = '';
  let pageLimit = limit;
  if (query.continue) {
    if (rvParam !== '' || rvMatch) throw errors.badRequest('specifying resource version is not allowed when using continue');
    const token = decodeContinue(query.continue);
    if (token.rv < storage.compactedResourceVersion) throw errors.expiredContinue(encodeContinue(storage.resourceVersion, token.start));
    readRv = token.rv;
    start = token.start;
  } else if (rvParam === '0' && rvMatch !== 'Exact') {
    pageLimit = 0;
  } else if (rvParam !== '') {
    const rv = parseRv(rvParam);
    const exact = rvMatch === 'Exact' || (rvMatch === '' && limit > 0);
    if (rv > storage.resourceVersion && !(await storage.waitFor(rv, TOO_LARGE_RV_WAIT_MS))) throw errors.tooLargeResourceVersion(rv, storage.resourceVersion);
    if (exact) {
      if (rv < storage.compactedResourceVersion) throw errors.expiredWatch(rv, storage.compactedResourceVersion + 1);
      readRv = rv;
    }
  }

  const all = storage.itemsAt(def, readRv).filter(([key, obj]) => key >= start && (namespace === undefined || obj.metadata.namespace === namespace) && match(obj));
  const page = pageLimit > 0 ? all.slice(0, pageLimit) : all;
  const metadata: KubeJson = { resourceVersion: String(readRv) };
  if (page.length < all.length) {
    metadata.continue = encodeContinue(readRv, `${page[page.length - 1][0]}\u0000`);
    metadata.remainingItemCount = all.length - page.length;
  }
  // Built-in types are encoded as typed lists whose items carry no kind/apiVersion;
  // custom resources are unstructured and keep them.
  const items = page.map(([, obj]) => {
    const out = present(def, version, obj);
    if (def.crd) return out;
    const { apiVersion: _a, kind: _k, ...rest } = out;
    return rest;
  });
  return { kind: `${def.kind}List`, apiVersion: groupVersion(def.group, version), metadata, items };
}

export interface WatchStreamOptions {
  readonly bookmarkIntervalMs: number;
  /** Default timeout when the client sends none: uniform in [min, 2·min], like --min-request-timeout. */
  readonly minRequestTimeoutSeconds: number;
}

export interface OpenWatch {
  readonly res: ServerResponse;
  readonly def: ResourceDef;
}

/** A watch request. Errors found before the stream starts are thrown (and answered as a Status). */
export async function watch(
  storage: Storage, def: ResourceDef, version: string, namespace: string | undefined, query: Query,
  res: ServerResponse, options: WatchStreamOptions, onStart: () => void,
): Promise<void> {
  const match = selectorOf(def, query);
  const rvParam = query.resourceVersion ?? '';
  const initialEvents = query.sendInitialEvents === 'true';
  const bookmarks = query.allowWatchBookmarks === 'true' || query.allowWatchBookmarks === '1';
  if (query.resourceVersionMatch && !initialEvents) throw errors.badRequest('resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided');
  if (initialEvents && query.resourceVersionMatch !== 'NotOlderThan') throw errors.badRequest('resourceVersionMatch: Unsupported value: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan');
  if (initialEvents && !bookmarks) throw errors.badRequest('allowWatchBookmarks: Required value: allowWatchBookmarks must be set to true when sendInitialEvents is true');
  const requested = rvParam === '' || rvParam === '0' ? undefined : parseRv(rvParam);
  const timeoutSeconds = query.timeoutSeconds ? Number(query.timeoutSeconds) : options.minRequestTimeoutSeconds * (1 + Math.random());

  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
  res.flushHeaders();
  onStart();
  const write = (type: string, object: KubeJson) => {
    if (!res.writableEnded && !res.destroyed) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const fail = (err: StatusError) => {
    write('ERROR', err.toStatus());
    res.end();
  };
  if (requested !== undefined && requested > storage.resourceVersion && !(await storage.waitFor(requested, TOO_LARGE_RV_WAIT_MS))) {
    return fail(errors.tooLargeResourceVersion(requested, storage.resourceVersion));
  }
  if (res.destroyed) return;
  const bookmark = (annotations?: Record<string, string>) => {
    const metadata: KubeJson = { resourceVersion: String(storage.resourceVersion) };
    if (!def.crd) metadata.creationTimestamp = null;
    if (annotations) metadata.annotations = annotations;
    write('BOOKMARK', { kind: def.kind, apiVersion: groupVersion(def.group, version), metadata });
  };
  let unsubscribe: () => void;
  try {
    const from = initialEvents ? undefined : requested;
    unsubscribe = storage.watch(def, { namespace, match }, from, {
      send: (type, obj) => write(type, present(def, version, obj)),
      end: () => res.end(),
    });
  } catch (err) {
    if (err instanceof StatusError) return fail(err);
    throw err;
  }
  if (initialEvents) bookmark({ 'k8s.io/initial-events-end': 'true' });
  const ticker = bookmarks ? setInterval(bookmark, options.bookmarkIntervalMs) : undefined;
  const timeout = setTimeout(() => res.end(), timeoutSeconds * 1000);
  res.on('close', () => {
    unsubscribe();
    clearInterval(ticker);
    clearTimeout(timeout);
  });
}
