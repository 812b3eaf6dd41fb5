// Hot path: sticky sessions by cookie. A pick with a cookie is one Map lookup; endpoint tags
// (an HMAC each) are computed only when the endpoint list changes.
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import type { Balancer, Endpoint, EndpointInput, PickContext, RequestResult } from './types.ts';

/**
 * `Balanced`: the cookie's endpoint is honoured while the balancer would pick it at all (ready,
 * or draining when nothing is ready); otherwise the client moves. `Persistent`: the client
 * stays while its endpoint is serving, even terminating, and moves only when it is gone, not
 * serving or ejected.
 */
export type StickyMode = 'Balanced' | 'Persistent';

/** A per-fleet secret: every worker and replica must use the same one, or clients move. */
export type StickySecret = string | Uint8Array;

/** 96 bits of base64url: what a cookie or session token carries instead of the endpoint address. */
export const TAG_PATTERN = /^[A-Za-z0-9_-]{16}$/;

/** The keyed secret, built once; HMACs with it for tags and session tokens. */
export function stickyKey(secret: StickySecret): KeyObject {
  if (secret.length === 0) throw new RangeError('sticky secret must not be empty');
  return createSecretKey(typeof secret === 'string' ? Buffer.from(secret) : secret);
}

/** The opaque tag of an endpoint: HMAC-SHA256(secret, key), truncated. Reveals nothing of the address. */
export function endpointTag(key: KeyObject, endpointKey: string): string {
  return createHmac('sha256', key).update(`endpoint\n${endpointKey}`).digest('base64url').slice(0, 16);
}

/** Whether a sticky client stays on `endpoint`. */
export function honoursSticky(endpoint: Endpoint, mode: StickyMode): boolean {
  return endpoint.active || (mode === 'Persistent' && endpoint.serving && !endpoint.ejected);
}

/**
 * Tag → endpoint for one balancer, rebuilt lazily when the balancer's version changes; tags
 * of endpoints that stay are reused. Session persistence keeps one per backend of a rule over
 * the backend's shared balancer.
 */
export class StickyIndex {
  readonly #balancer: Balancer;
  readonly #key: KeyObject;
  #version = -1;
  #byTag = new Map<string, Endpoint>();
  #tagByKey = new Map<string, string>();

  constructor(balancer: Balancer, key: KeyObject) {
    this.#balancer = balancer;
    this.#key = key;
  }

  /** The endpoint with this tag, usable or not. */
  find(tag: string): Endpoint | undefined {
    this.#sync();
    return this.#byTag.get(tag);
  }

  /** The endpoint with this tag if a sticky client in `mode` stays on it. */
  findUsable(tag: string, mode: StickyMode): Endpoint | undefined {
    const e = this.find(tag);
    return e !== undefined && honoursSticky(e, mode) ? e : undefined;
  }

  tagOf(endpoint: Endpoint): string {
    this.#sync();
    return this.#tagByKey.get(endpoint.key) ?? endpointTag(this.#key, endpoint.key);
  }

  #sync(): void {
    if (this.#version === this.#balancer.version) return;
    const byTag = new Map<string, Endpoint>();
    const tagByKey = new Map<string, string>();
    for (const e of this.#balancer.endpoints) {
      const tag = this.#tagByKey.get(e.key) ?? endpointTag(this.#key, e.key);
      byTag.set(tag, e);
      tagByKey.set(e.key, tag);
    }
    this.#byTag = byTag;
    this.#tagByKey = tagByKey;
    this.#version = this.#balancer.version;
  }
}

export interface StickyCookie {
  readonly name: string;
  /** Default `/`. */
  readonly path?: string;
  /** Absent: a session cookie, gone when the browser closes. */
  readonly maxAgeSeconds?: number;
  /** Default true. */
  readonly httpOnly?: boolean;
  readonly secure?: boolean;
  readonly sameSite?: 'Strict' | 'Lax' | 'None';
}

export interface StickyOptions {
  readonly mode: StickyMode;
  readonly secret: StickySecret;
  readonly cookie: StickyCookie;
}

/**
 * Sticky sessions over any balancer: a request whose cookie names a usable endpoint goes
 * there; any other request is picked by the inner balancer, and setCookie() tells which
 * cookie the response must carry. The inner balancer may be shared with routes that are not
 * sticky; update(), onStart() and onEnd() go to it.
 */
export class StickyBalancer implements Balancer {
  readonly mode: StickyMode;
  readonly #inner: Balancer;
  readonly #index: StickyIndex;
  readonly #cookieSuffix: string;
  readonly #cookieName: string;

  constructor(inner: Balancer, options: StickyOptions) {
    this.#inner = inner;
    this.mode = options.mode;
    this.#index = new StickyIndex(inner, stickyKey(options.secret));
    this.#cookieName = options.cookie.name;
    this.#cookieSuffix = cookieAttributes(options.cookie);
  }

  get policy(): string {
    return this.#inner.policy;
  }

  get version(): number {
    return this.#inner.version;
  }

  get endpoints(): readonly Endpoint[] {
    return this.#inner.endpoints;
  }

  get cookieName(): string {
    return this.#cookieName;
  }

  update(endpoints: readonly EndpointInput[]): void {
    this.#inner.update(endpoints);
  }

  get(key: string): Endpoint | undefined {
    return this.#inner.get(key);
  }

  pick(ctx: PickContext): Endpoint | undefined {
    if (ctx.sticky !== undefined) {
      const e = this.#index.findUsable(ctx.sticky, this.mode);
      if (e !== undefined) return e;
    }
    return this.#inner.pick(ctx);
  }

  /** The Set-Cookie value for a response from `endpoint`, or undefined when the request's cookie already names it. */
  setCookie(ctx: PickContext, endpoint: Endpoint): string | undefined {
    const tag = this.#index.tagOf(endpoint);
    return tag === ctx.sticky ? undefined : `${this.#cookieName}=${tag}${this.#cookieSuffix}`;
  }

  onStart(endpoint: Endpoint): void {
    this.#inner.onStart(endpoint);
  }

  onEnd(endpoint: Endpoint, result: RequestResult): void {
    this.#inner.onEnd(endpoint, result);
  }
}

/** `; Path=/; HttpOnly…` for a Set-Cookie value. */
export function cookieAttributes(cookie: StickyCookie): string {
  let out = `; Path=${cookie.path ?? '/'}`;
  if (cookie.maxAgeSeconds !== undefined) out += `; Max-Age=${Math.max(0, Math.floor(cookie.maxAgeSeconds))}`;
  if (cookie.httpOnly !== false) out += '; HttpOnly';
  if (cookie.secure === true || cookie.sameSite === 'None') out += '; Secure';
  if (cookie.sameSite !== undefined) out += `; SameSite=${cookie.sameSite}`;
  return out;
}
