// A Kubernetes API server for tests: real HTTP on 127.0.0.1 speaking the REST protocol of
// kube-apiserver (discovery, list/watch with resourceVersions, bookmarks, 410 Expired, status
// subresource, optimistic concurrency, patches, selectors), with controls to break it the ways
// a real cluster breaks: dropped watches, compaction, the server going away and coming back.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crdOf, establishedStatus, type GatewayApiRelease } from './crds.ts';
import { StatusError, errors } from './errors.ts';
import { list, present, selectorOf, watch, type Query } from './list-watch.ts';
import { checkTypeMeta, isObject } from './object-rules.ts';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.ts';
import { defaultResources, groupVersion, resourceName, type KubeJson, type ResourceDef } from './resources.ts';
import { resolve, type ResourceRoute } from './routes.ts';
import { Storage } from './storage.ts';

export interface KubeApiServerOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number;
  readonly token?: string;
  /** Resources served; defaults to `defaultResources()`. */
  readonly resources?: readonly ResourceDef[];
  /** Resource names (`tlsroutes.gateway.networking.k8s.io`, `services`) not served at start, as if their CRD were not installed. */
  readonly omit?: readonly string[];
  /** Resource names no user may read or write (RBAC grants nothing on them): every request answers 403. */
  readonly forbidden?: readonly string[];
  /** Events kept for watches to replay (the watch cache's capacity). */
  readonly historySize?: number;
  /** Interval of BOOKMARK events on watches that allow them (the real server: about a minute). */
  readonly bookmarkIntervalMs?: number;
  /** Watches without timeoutSeconds end after [min, 2·min] seconds (the real default min is 1800). */
  readonly minRequestTimeoutSeconds?: number;
  /** Namespaces that exist at start. */
  readonly namespaces?: readonly string[];
  /**
   * The release annotations of the Gateway API CRDs (each served custom resource has its
   * CustomResourceDefinition object); default `{ bundleVersion: 'v1.6.1', channel: 'standard' }`,
   * null for CRDs without them.
   */
  readonly gatewayApiRelease?: GatewayApiRelease | null;
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Query;
  readonly status: number;
  /** The Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection; or discovery. */
  readonly verb: string;
  readonly resource?: string;
  readonly subresource?: string;
  /** Who asked: the user a bearer token belongs to (`admin` for the main token). */
  readonly user?: string;
}

/** Identifies an object for the in-process helpers: `{ apiVersion, kind, metadata: { name, namespace? } }`. */
export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}

export interface KubeApiServer {
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly kubeconfigPath: string;
  /** A kubeconfig with a token of its own, so the request log tells this client's requests apart. */
  kubeconfigFor(user: string): string;
  /** Every request answered, in order. */
  readonly requests: RequestRecord[];
  /** The current global resourceVersion. */
  readonly resourceVersion: number;
  /** Watch streams open right now. */
  readonly openWatches: number;
  /** Close every open watch stream abruptly (sockets destroyed); returns how many. */
  dropWatches(): number;
  /** Move the compaction point to the current resourceVersion: older watches and continue tokens get 410. */
  compact(): void;
  /** Stop answering: listening socket closed, every connection destroyed. State is kept. */
  down(): Promise<void>;
  /** Listen again on the same port. */
  up(): Promise<void>;
  stop(): Promise<void>;
  /** Stop serving a resource (its CRD deleted: objects go, watches end, paths answer 404, the CustomResourceDefinition object goes). */
  uninstall(name: string): void;
  /** Serve a resource again (a definition, or the name of a default one); a custom resource gets its CustomResourceDefinition object. */
  install(resource: string | ResourceDef): void;
  served(name: string): boolean;
  // kubectl-like helpers; they go through the same storage as HTTP, so watches see them.
  create(obj: KubeJson): KubeJson;
  /** Replace an object (without metadata.resourceVersion: unconditionally, like `kubectl replace`). */
  update(obj: KubeJson): KubeJson;
  /** Create, or replace the existing object's content. */
  apply(obj: KubeJson): KubeJson;
  updateStatus(obj: KubeJson): KubeJson;
  remove(ref: ObjectRef): KubeJson;
  get(ref: ObjectRef): KubeJson;
  list(apiVersion: string, kind: string, namespace?: string): KubeJson[];
}

const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

export async function startKubeApiServer(options: KubeApiServerOptions = {}): Promise<KubeApiServer> {
  const token = options.token ?? randomBytes(16).toString('hex');
  const storage = new Storage({ historySize: options.historySize });
  const all = new Map<string, ResourceDef>((options.resources ?? defaultResources()).map((d) => [resourceName(d), d]));
  const served = new Map([...all].filter(([name]) => !options.omit?.includes(name)));
  const requests: RequestRecord[] = [];
  const users = new Map([[`Bearer ${token}`, 'admin']]);
  const sockets = new Set<Socket>();
  const watches = new Set<ServerResponse>();
  const streamOptions = { bookmarkIntervalMs: options.bookmarkIntervalMs ?? 60_000, minRequestTimeoutSeconds: options.minRequestTimeoutSeconds ?? 1800 };
  let port = options.port ?? 0;

  const findDef = (apiVersion: string, kind: string): { def: ResourceDef; version: string } => {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    const def = [...served.values()].find((d) => d.group === group && d.kind === kind && d.versions.includes(version));
    if (!def) throw errors.noResource();
    return { def, version };
  };
  const nsOf = (def: ResourceDef, obj: { metadata?: { namespace?: string } }) => (def.namespaced ? (obj.metadata?.namespace ?? 'default') : undefined);

  for (const ns of options.namespaces ?? DEFAULT_NAMESPACES) {
    storage.create(all.get('namespaces')!, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, undefined, { manager: 'kube-apiserver' });
  }
  // Custom resources are served because their CRD is installed and established: the
  // CustomResourceDefinition objects say so, with the release annotations of the real CRDs.
  const release = options.gatewayApiRelease === undefined ? { bundleVersion: 'v1.6.1', channel: 'standard' } : options.gatewayApiRelease;
  const crdDef = all.get('customresourcedefinitions.apiextensions.k8s.io');
  const defineCrd = (def: ResourceDef) => {
    if (!def.crd || !crdDef || !served.has(resourceName(crdDef)) || storage.has(crdDef, undefined, resourceName(def))) return;
    const created = storage.create(crdDef, crdOf(def, release), undefined, { manager: 'kubectl' });
    const status = establishedStatus(def, created.metadata.creationTimestamp);
    storage.update(crdDef, { ...created, status }, undefined, created.metadata.name, { manager: 'kube-apiserver', subresource: 'status' });
  };
  const removeCrd = (def: ResourceDef) => {
    if (crdDef && storage.has(crdDef, undefined, resourceName(def))) storage.delete(crdDef, undefined, resourceName(def));
  };
  for (const def of served.values()) defineCrd(def);

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      const status = err instanceof StatusError ? err : errors.internal(String(err?.stack ?? err));
      if (!res.headersSent) sendJson(res, status.code, status.toStatus());
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query: Query = Object.fromEntries(url.searchParams);
    let verb = 'unknown';
    let route: ResourceRoute | undefined;
    let user: string | undefined;
    const record = (status: number) => requests.push({
      method: req.method ?? '', path: url.pathname, query, status, verb,
      ...(route ? { resource: route.def.plural } : {}), ...(route?.subresource ? { subresource: route.subresource } : {}),
      ...(user ? { user } : {}),
    });
    const origWriteHead = res.writeHead.bind(res);
    res.writeHead = ((code: number, ...rest: any[]) => {
      record(code);
      return origWriteHead(code, ...rest);
    }) as typeof res.writeHead;

    if (['/healthz', '/livez', '/readyz'].includes(url.pathname)) return sendText(res, 200, 'ok');
    if (url.pathname === '/version') return sendJson(res, 200, { major: '1', minor: '33', gitVersion: 'v1.33.0', platform: 'linux/amd64' });
    user = users.get(req.headers.authorization ?? '');
    if (user === undefined) throw errors.unauthorized();
    const resolved = resolve(url.pathname, [...served.values()], `127.0.0.1:${port}`);
    if ('discovery' in resolved) {
      verb = 'discovery';
      if (req.method !== 'GET') throw errors.methodNotAllowed(req.method ?? '');
      return sendJson(res, 200, resolved.discovery);
    }
    route = resolved.resource;
    const { def, version, namespace, name, subresource } = route;
    if (options.forbidden?.includes(resourceName(def))) {
      const watching = query.watch === 'true' || query.watch === '1' || route.watchPath;
      throw errors.forbidden(def, user, req.method === 'GET' ? (name !== undefined ? 'get' : watching ? 'watch' : 'list') : (req.method ?? '').toLowerCase(), namespace);
    }
    const manager = query.fieldManager ?? (req.headers['user-agent'] ?? 'unknown').split('/')[0];
    const out = (obj: KubeJson) => present(def, version, obj);
    switch (req.method) {
      case 'GET':
        if (name !== undefined) {
          verb = 'get';
          return sendJson(res, 200, out(storage.get(def, namespace, name)));
        }
        if (route.watchPath || query.watch === 'true' || query.watch === '1') {
          verb = 'watch';
          return watch(storage, def, version, namespace, query, res, streamOptions, () => {
            watches.add(res);
            res.on('close', () => watches.delete(res));
          });
        }
        verb = 'list';
        return sendJson(res, 200, await list(storage, def, version, namespace, query));
      case 'POST': {
        verb = 'create';
        if (name !== undefined || (def.namespaced && namespace === undefined)) throw errors.methodNotAllowed('POST');
        const body = checkTypeMeta(def, version, await readJson(req));
        return sendJson(res, 201, out(storage.create(def, body, namespace, { manager })));
      }
      case 'PUT': {
        verb = 'update';
        if (name === undefined) throw errors.methodNotAllowed('PUT');
        const body = checkTypeMeta(def, version, await readJson(req));
        return sendJson(res, 200, out(storage.update(def, body, namespace, name, { manager, subresource })));
      }
      case 'PATCH': {
        verb = 'patch';
        if (name === undefined) throw errors.methodNotAllowed('PATCH');
        const patched = applyPatch(def, req.headers['content-type'] ?? '', out(storage.get(def, namespace, name)), await readJson(req));
        const body = checkTypeMeta(def, version, patched);
        if (body.metadata.name !== name) throw errors.badRequest(`metadata.name: Invalid value: "${body.metadata.name}": field is immutable`);
        return sendJson(res, 200, out(storage.update(def, body, namespace, name, { manager, subresource })));
      }
      case 'DELETE': {
        const options = await readJson(req, true);
        if (name === undefined) {
          verb = 'deletecollection';
          const match = selectorOf(def, query);
          const gone = storage.itemsAt(def).filter(([, o]) => (namespace === undefined || o.metadata.namespace === namespace) && match(o))
            .map(([, o]) => out(storage.delete(def, o.metadata.namespace, o.metadata.name)));
          return sendJson(res, 200, { kind: `${def.kind}List`, apiVersion: groupVersion(def.group, version), metadata: { resourceVersion: String(storage.resourceVersion) }, items: gone });
        }
        verb = 'delete';
        const deleted = storage.delete(def, namespace, name, isObject(options) ? (options.preconditions ?? {}) : {});
        // Built-in kinds without finalizers answer with a Status; custom resources with the object.
        if (def.crd || deleted.metadata.deletionTimestamp || def.plural === 'services') return sendJson(res, 200, out(deleted));
        return sendJson(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, ...(def.group ? { group: def.group } : {}), kind: def.plural, uid: deleted.metadata.uid } });
      }
      default:
        throw errors.methodNotAllowed(req.method ?? '');
    }
  }

  const listen = () => new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail);
      port = (server.address() as AddressInfo).port;
      ok();
    });
  });
  const close = () => new Promise<void>((ok) => {
    server.close(() => ok());
    for (const s of sockets) s.destroy();
  });
  await listen();

  const dir = mkdtempSync(join(tmpdir(), 'waygate-kube-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  writeFileSync(kubeconfigPath, kubeconfig(`http://127.0.0.1:${port}`, token));

  const kubectl = {
    create(obj: KubeJson): KubeJson {
      const { def, version } = findDef(obj.apiVersion, obj.kind);
      return present(def, version, storage.create(def, checkTypeMeta(def, version, obj), nsOf(def, obj), { manager: 'kubectl' }));
    },
    update(obj: KubeJson, subresource?: 'status'): KubeJson {
      const { def, version } = findDef(obj.apiVersion, obj.kind);
      const body = checkTypeMeta(def, version, obj);
      const ns = nsOf(def, obj);
      body.metadata.resourceVersion ??= storage.get(def, ns, body.metadata.name).metadata.resourceVersion;
      return present(def, version, storage.update(def, body, ns, body.metadata.name, { manager: 'kubectl', subresource }));
    },
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    kubeconfigPath,
    kubeconfigFor(user: string) {
      const userToken = randomBytes(16).toString('hex');
      users.set(`Bearer ${userToken}`, user);
      const path = join(dir, `kubeconfig-${user.replace(/[^A-Za-z0-9-]/g, '_')}`);
      writeFileSync(path, kubeconfig(`http://127.0.0.1:${port}`, userToken));
      return path;
    },
    requests,
    get resourceVersion() {
      return storage.resourceVersion;
    },
    get openWatches() {
      return watches.size;
    },
    dropWatches() {
      const n = watches.size;
      for (const res of watches) res.socket?.destroy();
      watches.clear();
      return n;
    },
    compact: () => storage.compact(),
    down: close,
    up: listen,
    async stop() {
      await close();
      rmSync(dir, { recursive: true, force: true });
    },
    uninstall(name: string) {
      const def = served.get(name);
      if (!def) return;
      served.delete(name);
      storage.dropResource(def);
      removeCrd(def);
    },
    install(resource: string | ResourceDef) {
      const def = typeof resource === 'string' ? (all.get(resource) ?? defaultResources().find((d) => resourceName(d) === resource)) : resource;
      if (!def) throw new Error(`unknown resource ${String(resource)}`);
      served.set(resourceName(def), def);
      defineCrd(def);
    },
    served: (name: string) => served.has(name),
    create: kubectl.create,
    update: (obj) => kubectl.update(obj),
    apply(obj) {
      const { def } = findDef(obj.apiVersion, obj.kind);
      const exists = storage.has(def, nsOf(def, obj), obj.metadata?.name);
      const { resourceVersion: _rv, ...metadata } = obj.metadata ?? {};
      return exists ? kubectl.update({ ...obj, metadata }) : kubectl.create({ ...obj, metadata });
    },
    updateStatus: (obj) => kubectl.update(obj, 'status'),
    remove(ref) {
      const { def, version } = findDef(ref.apiVersion, ref.kind);
      return present(def, version, storage.delete(def, nsOf(def, ref), ref.metadata.name));
    },
    get(ref) {
      const { def, version } = findDef(ref.apiVersion, ref.kind);
      return present(def, version, storage.get(def, nsOf(def, ref), ref.metadata.name));
    },
    list(apiVersion, kind, namespace) {
      const { def, version } = findDef(apiVersion, kind);
      return storage.itemsAt(def).filter(([, o]) => namespace === undefined || o.metadata.namespace === namespace).map(([, o]) => present(def, version, o));
    },
  };
}

function applyPatch(def: ResourceDef, contentType: string, current: KubeJson, patch: unknown): unknown {
  const type = contentType.split(';')[0].trim();
  switch (type) {
    case 'application/merge-patch+json': return mergePatch(current, patch);
    case 'application/json-patch+json': return jsonPatch(current, patch);
    case 'application/strategic-merge-patch+json':
      // Custom resources have no Go struct tags to merge by: the real server refuses.
      if (def.crd) throw errors.unsupportedMediaType(type);
      return strategicMergePatch(current, patch);
    default:
      // Includes application/apply-patch+yaml: server-side apply is not implemented here.
      throw errors.unsupportedMediaType(type);
  }
}

async function readJson(req: IncomingMessage, optional = false): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') {
    if (optional) return undefined;
    throw errors.badRequest('the body of the request was in an unknown format - accepted media types include: application/json, application/yaml');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw errors.badRequest(`error decoding request body: ${(err as Error).message}`);
  }
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache, private' });
  res.end(text);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

/** client-node refuses plain http unless TLS verification is explicitly skipped. */
function kubeconfig(server: string, token: string): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster:
      server: ${server}
      insecure-skip-tls-verify: true
users:
  - name: test
    user:
      token: ${token}
contexts:
  - name: test
    context:
      cluster: test
      user: test
      namespace: default
current-context: test
`;
}
