// One list of a collection, page by page, as raw JSON. The typed clients of client-node turn
// timestamps into Date objects and drop fields their models do not know; the store wants the
// objects as the API server wrote them, like the watch delivers them. Authentication, TLS and
// proxies come from the KubeConfig, as for every client-node request.
import {
  ApiException, HttpMethod, IsomorphicFetchHttpLibrary, RequestContext, type KubeConfig,
} from '@kubernetes/client-node';

export interface RawList {
  readonly metadata: { readonly resourceVersion?: string };
  readonly items: Record<string, any>[];
}

export interface ListRequest {
  readonly path: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  readonly signal?: AbortSignal;
  /** Page size (the API server's pagination, like client-go's pager). */
  readonly pageSize?: number;
}

const http = new IsomorphicFetchHttpLibrary();

/**
 * Every object of the collection at one resourceVersion. A continue token that expired between
 * pages (410) restarts the list, since the pages would no longer be one snapshot.
 */
export async function listObjects(kc: KubeConfig, request: ListRequest): Promise<RawList> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await listOnce(kc, request);
    } catch (err) {
      if (!(err instanceof ApiException && err.code === 410 && attempt < 2)) throw err;
    }
  }
}

async function listOnce(kc: KubeConfig, request: ListRequest): Promise<RawList> {
  const items: Record<string, any>[] = [];
  let resourceVersion: string | undefined;
  let token: string | undefined;
  do {
    const page = await getJson(kc, request, token);
    resourceVersion ??= page.metadata?.resourceVersion;
    items.push(...(page.items ?? []));
    token = page.metadata?.continue || undefined;
  } while (token);
  return { metadata: { resourceVersion }, items };
}

async function getJson(kc: KubeConfig, request: ListRequest, token: string | undefined): Promise<any> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('K8S_ERR_CONFIG the kubeconfig has no current cluster');
  const ctx = new RequestContext(`${cluster.server}${request.path}`, HttpMethod.GET);
  ctx.setQueryParam('limit', String(request.pageSize ?? 500));
  if (token) ctx.setQueryParam('continue', token);
  if (request.labelSelector) ctx.setQueryParam('labelSelector', request.labelSelector);
  if (request.fieldSelector) ctx.setQueryParam('fieldSelector', request.fieldSelector);
  ctx.setHeaderParam('Accept', 'application/json');
  ctx.setHeaderParam('User-Agent', 'waygate');
  if (request.signal) ctx.setSignal(request.signal);
  await kc.applySecurityAuthentication(ctx);
  try {
    const res = await http.send(ctx).toPromise();
    const text = await res.body.text();
    if (res.httpStatusCode < 200 || res.httpStatusCode > 299) {
      throw new ApiException(res.httpStatusCode, `list ${request.path}`, parseOrText(text), res.headers);
    }
    return JSON.parse(text);
  } finally {
    if (await dispatchersArePerRequest(kc)) closeDispatcher(ctx);
  }
}

type Closable = { close?: () => Promise<void> } | undefined;
const perRequest = new WeakMap<KubeConfig, Promise<boolean>>();

/**
 * client-node 2.0 makes a new undici dispatcher for every request; closing it after a list
 * leaves no idle socket behind. A shared dispatcher (another client-node version might cache
 * them) must not be closed: check once per KubeConfig.
 */
function dispatchersArePerRequest(kc: KubeConfig): Promise<boolean> {
  let known = perRequest.get(kc);
  if (!known) {
    known = (async () => {
      const [a, b] = [new RequestContext('http://probe', HttpMethod.GET), new RequestContext('http://probe', HttpMethod.GET)];
      await kc.applySecurityAuthentication(a);
      await kc.applySecurityAuthentication(b);
      const separate = a.getDispatcher() !== undefined && a.getDispatcher() !== b.getDispatcher();
      if (separate) [a, b].forEach(closeDispatcher);
      return separate;
    })().catch(() => false);
    perRequest.set(kc, known);
  }
  return known;
}

function closeDispatcher(ctx: RequestContext): void {
  void (ctx.getDispatcher() as Closable)?.close?.().catch(() => {});
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
