// HTTPRouteRule.sessionPersistence (experimental channel, GEP-1619) → IR: the CRD's contract
// (enums, pattern, CEL rules) checked here, the session itself kept by the data plane.
import type { HTTPRoute, HTTPRouteRule } from '../api/index.ts';
import type { IRSessionPersistence } from '../ir/index.ts';
import { contentHash, parseDuration } from '../util/index.ts';
import { isObject, TOKEN } from './backend-settings.ts';
import { namespaceOf } from './context.ts';
import { list } from './fields.ts';

/** The rule's session persistence; a string says why the rule is invalid. */
export function convertSessionPersistence(route: HTTPRoute, rule: HTTPRouteRule, ruleIndex: number, field: string): IRSessionPersistence | string | undefined {
  const spec: unknown = rule.sessionPersistence;
  if (spec === undefined || spec === null) return undefined;
  const f = `${field}.sessionPersistence`;
  if (!isObject(spec)) return `${f}: must be an object`;
  const type = spec.type ?? 'Cookie';
  if (type !== 'Cookie' && type !== 'Header') return `${f}.type: must be Cookie or Header, got ${JSON.stringify(type)}`;
  const name = spec.sessionName ?? defaultSessionName(route, rule, ruleIndex);
  if (typeof name !== 'string' || name.length > 128 || !TOKEN.test(name)) {
    return `${f}.sessionName: ${JSON.stringify(name)} is not a valid ${type === 'Header' ? 'header' : 'cookie'} name`;
  }
  const cookieConfig = spec.cookieConfig;
  if (cookieConfig !== undefined && type !== 'Cookie') return `${f}.cookieConfig: can only be set with type Cookie`;
  const lifetime = isObject(cookieConfig) ? cookieConfig.lifetimeType ?? 'Session' : 'Session';
  if (lifetime !== 'Permanent' && lifetime !== 'Session') return `${f}.cookieConfig.lifetimeType: must be Permanent or Session, got ${JSON.stringify(lifetime)}`;
  if (lifetime === 'Permanent' && spec.absoluteTimeout === undefined) return `${f}.absoluteTimeout: must be specified when cookie lifetimeType is Permanent`;
  const absolute = timeout(spec.absoluteTimeout, `${f}.absoluteTimeout`);
  if (typeof absolute === 'string') return absolute;
  const idle = timeout(spec.idleTimeout, `${f}.idleTimeout`);
  if (typeof idle === 'string') return idle;
  return {
    name, type,
    ...(absolute !== undefined ? { absoluteTimeoutMs: absolute } : {}),
    ...(idle !== undefined ? { idleTimeoutMs: idle } : {}),
    lifetime, path: cookiePath(rule),
    // A rule is translated once for every listener it attaches to, HTTP and HTTPS alike, and a
    // browser never sends a Secure cookie over HTTP: Secure stays off so sessions hold on both.
    secure: false,
  };
}

function timeout(v: unknown, field: string): number | string | undefined {
  if (v === undefined) return undefined;
  const ms = typeof v === 'string' ? parseDuration(v) : undefined;
  if (ms === undefined) return `${field}: ${JSON.stringify(v)} is not a Gateway API duration (e.g. 1h, 30m, 10s)`;
  return ms === 0 ? `${field}: must be greater than zero` : ms;
}

/** sessionName is implementation-specific when absent: one name per route rule, stable across edits of other rules. */
function defaultSessionName(route: HTTPRoute, rule: HTTPRouteRule, ruleIndex: number): string {
  const id = typeof rule.name === 'string' && rule.name !== '' ? rule.name : String(ruleIndex);
  return `waygate-session-${contentHash(`${namespaceOf(route)}/${route.metadata.name}/${id}`).slice(0, 12)}`;
}

/**
 * The cookie's Path: the rule's path when every match of the rule has the same Exact or
 * PathPrefix path (the browser then sends it on every request the rule matches), else `/`.
 */
function cookiePath(rule: HTTPRouteRule): string {
  const paths = list(rule.matches).map((m) => m?.path ?? { type: 'PathPrefix', value: '/' });
  const first = paths[0];
  if (first === undefined || !paths.every((p) => p?.type !== 'RegularExpression' && p?.value === first.value)) return '/';
  const value = first.value ?? '/';
  return typeof value === 'string' && /^\/[^;\s\x00-\x1f]*$/.test(value) ? value : '/';
}
