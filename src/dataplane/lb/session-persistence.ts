// Hot path for routes with sessionPersistence: one token read and, when the session carries
// timeouts, one HMAC per request; the endpoint lookup is StickyIndex's Map.
import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
import { parseDuration } from '../../util/index.ts';
import { cookieValue, firstHeader } from './hash-key.ts';
import { TAG_PATTERN, cookieAttributes, stickyKey } from './sticky.ts';
import type { StickyMode, StickySecret } from './sticky.ts';
import type { Clock } from './types.ts';

/**
 * HTTPRoute `spec.rules[].sessionPersistence` as the API carries it (experimental channel,
 * GEP-1619). `idleTimeout` is read when present: earlier experimental CRDs had it; the current
 * ones dropped it (gateway-api#4771), so only an implementation-specific policy can set it.
 */
export interface SessionPersistenceSpec {
  readonly sessionName?: string;
  readonly type?: string;
  readonly absoluteTimeout?: string;
  readonly idleTimeout?: string;
  readonly cookieConfig?: { readonly lifetimeType?: string };
}

export interface SessionPersistenceConfig {
  /** The cookie or header name. */
  readonly name: string;
  readonly type: 'Cookie' | 'Header';
  /** From the session's start; undefined: no limit. */
  readonly absoluteTimeoutMs: number | undefined;
  /** From the session's last request; undefined: no limit. */
  readonly idleTimeoutMs: number | undefined;
  /** `Permanent`: the cookie carries Max-Age (what is left of absoluteTimeout). `Session`: it does not. */
  readonly lifetime: 'Permanent' | 'Session';
  /** The cookie's Path: the path the route rule matches, `/` by default. */
  readonly path: string;
  /** The cookie's Secure attribute: set for HTTPS listeners. */
  readonly secure: boolean;
}

/** The caller's say where the API leaves it to the implementation. */
export interface SessionDefaults {
  /** Used when `sessionName` is absent; should be unique per route rule. */
  readonly name: string;
  readonly path?: string;
  readonly secure?: boolean;
}

/** RFC 9110 token: a valid header name and cookie name. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The contract of the API fields (the CRD's pattern, enums and CEL rules), then the config. */
export function sessionPersistenceConfig(
  spec: SessionPersistenceSpec, defaults: SessionDefaults,
): { config: SessionPersistenceConfig } | { errors: string[] } {
  const errors: string[] = [];
  const type = spec.type ?? 'Cookie';
  if (type !== 'Cookie' && type !== 'Header') errors.push(`type: must be Cookie or Header, got ${JSON.stringify(type)}`);
  const name = spec.sessionName ?? defaults.name;
  if (name.length > 128) errors.push('sessionName: must be at most 128 characters');
  else if (!TOKEN.test(name)) errors.push(`sessionName: ${JSON.stringify(name)} is not a valid ${type === 'Header' ? 'header' : 'cookie'} name`);
  const absoluteTimeoutMs = timeout(spec.absoluteTimeout, 'absoluteTimeout', errors);
  const idleTimeoutMs = timeout(spec.idleTimeout, 'idleTimeout', errors);
  const lifetime = spec.cookieConfig?.lifetimeType ?? 'Session';
  if (lifetime !== 'Permanent' && lifetime !== 'Session') {
    errors.push(`cookieConfig.lifetimeType: must be Permanent or Session, got ${JSON.stringify(lifetime)}`);
  }
  if (spec.cookieConfig !== undefined && type !== 'Cookie') errors.push('cookieConfig: can only be set with type Cookie');
  if (lifetime === 'Permanent' && spec.absoluteTimeout === undefined) {
    errors.push('absoluteTimeout: must be specified when cookie lifetimeType is Permanent');
  }
  if (errors.length > 0) return { errors };
  return {
    config: {
      name, type: type as 'Cookie' | 'Header', absoluteTimeoutMs, idleTimeoutMs,
      lifetime: lifetime as 'Permanent' | 'Session', path: defaults.path ?? '/', secure: defaults.secure === true,
    },
  };
}

function timeout(text: string | undefined, field: string, errors: string[]): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) errors.push(`${field}: ${JSON.stringify(text)} is not a Gateway API duration (e.g. 1h, 30m, 10s)`);
  else if (ms === 0) errors.push(`${field}: must be greater than zero`);
  return ms;
}

/** A session a request carries: the tag of its endpoint (see StickyIndex), when it began and was last renewed. */
export interface Session {
  readonly tag: string;
  readonly createdAt: number;
  readonly renewedAt: number;
}

export interface SessionPersistenceOptions {
  readonly secret: StickySecret;
  /** Wall-clock milliseconds (tokens outlive processes). Defaults to Date.now. */
  readonly now?: Clock;
}

/**
 * The data-plane side of one rule's sessionPersistence. A request's token (cookie or header
 * `name`) names its endpoint by tag; with timeouts it also carries the session's start and
 * last renewal, signed, so that no worker keeps session state and none can be forged or
 * extended. Flow per request: open(token(headers)) → the rule's backends look the tag up with
 * StickyIndex.findUsable(tag, SESSION_MODE) → else pick as usual → responseHeader().
 */
export class SessionPersistence {
  readonly config: SessionPersistenceConfig;
  readonly #key: KeyObject;
  readonly #now: Clock;
  readonly #timed: boolean;
  readonly #cookieSuffix: string;

  constructor(config: SessionPersistenceConfig, options: SessionPersistenceOptions) {
    this.config = config;
    this.#key = stickyKey(options.secret);
    this.#now = options.now ?? Date.now;
    this.#timed = config.absoluteTimeoutMs !== undefined || config.idleTimeoutMs !== undefined;
    this.#cookieSuffix = cookieAttributes({ name: config.name, path: config.path, secure: config.secure });
  }

  /** The token the request carries, if any. */
  token(rawHeaders: readonly string[]): string | undefined {
    const { type, name } = this.config;
    return type === 'Cookie' ? cookieValue(rawHeaders, name) : firstHeader(rawHeaders, name.toLowerCase());
  }

  /** The session in a token; undefined when there is none or it is malformed, forged or expired. */
  open(token: string | undefined): Session | undefined {
    if (token === undefined) return undefined;
    if (!this.#timed) return TAG_PATTERN.test(token) ? { tag: token, createdAt: 0, renewedAt: 0 } : undefined;
    const parts = token.split('.');
    if (parts.length !== 4 || !TAG_PATTERN.test(parts[0])) return undefined;
    const expected = Buffer.from(this.#sign(parts[0], parts[1], parts[2]));
    const given = Buffer.from(parts[3]);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const createdAt = parseInt(parts[1], 36);
    const renewedAt = parseInt(parts[2], 36);
    if (!(createdAt >= 0 && renewedAt >= createdAt)) return undefined;
    const now = this.#now();
    const { absoluteTimeoutMs, idleTimeoutMs } = this.config;
    if (absoluteTimeoutMs !== undefined && now - createdAt >= absoluteTimeoutMs) return undefined;
    if (idleTimeoutMs !== undefined && now - renewedAt >= idleTimeoutMs) return undefined;
    return { tag: parts[0], createdAt, renewedAt };
  }

  /**
   * The header the response from the endpoint with `tag` must carry, as [name, value]:
   * `set-cookie` or the session header. Undefined when the client's token stays valid as it
   * is. A new session starts when there was none or it moved endpoint; with an idle timeout
   * the token is renewed once 1/16 of it has passed, so a session ends between 15/16 of the
   * idle timeout and the full timeout after its last request.
   */
  responseHeader(session: Session | undefined, tag: string): [string, string] | undefined {
    const { idleTimeoutMs } = this.config;
    if (!this.#timed) return session?.tag === tag ? undefined : this.#header(tag, 0);
    const now = this.#now();
    if (session === undefined || session.tag !== tag) return this.#header(this.#issue(tag, now, now), now);
    if (idleTimeoutMs === undefined || now - session.renewedAt < idleTimeoutMs / 16) return undefined;
    return this.#header(this.#issue(tag, session.createdAt, now), session.createdAt);
  }

  #issue(tag: string, createdAt: number, renewedAt: number): string {
    const c = Math.floor(createdAt).toString(36);
    const r = Math.floor(renewedAt).toString(36);
    return `${tag}.${c}.${r}.${this.#sign(tag, c, r)}`;
  }

  #sign(tag: string, created: string, renewed: string): string {
    return createHmac('sha256', this.#key)
      .update(`session\n${this.config.name}\n${tag}.${created}.${renewed}`)
      .digest('base64url').slice(0, 16);
  }

  #header(token: string, createdAt: number): [string, string] {
    const { type, name, lifetime, absoluteTimeoutMs } = this.config;
    if (type === 'Header') return [name, token];
    let cookie = `${name}=${token}${this.#cookieSuffix}`;
    if (lifetime === 'Permanent' && absoluteTimeoutMs !== undefined) {
      const left = createdAt + absoluteTimeoutMs - this.#now();
      cookie += `; Max-Age=${Math.max(0, Math.ceil(left / 1000))}`;
    }
    return ['set-cookie', cookie];
  }
}

/** Sessions stay on a draining (serving, terminating) endpoint: that is what lets them finish. */
export const SESSION_MODE: StickyMode = 'Persistent';
