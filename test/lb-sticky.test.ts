// Sticky cookies (balanced and persistent) and Gateway API sessionPersistence tokens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  SESSION_MODE, SessionPersistence, StickyBalancer, StickyIndex, createBalancer, endpointTag,
  seededRandom, sessionPersistenceConfig, stickyKey,
} from '../src/dataplane/lb/index.ts';
import type {
  Balancer, PickContext, SessionPersistenceConfig, SessionPersistenceSpec, StickyMode,
} from '../src/dataplane/lb/index.ts';
import { endpoints, keyOf, letterOf } from './lb-helpers.ts';

const SECRET = 'fleet-secret-0123456789abcdef';

function sticky(mode: StickyMode, list = 'a b c', inner: Balancer = createBalancer('RoundRobin', { random: seededRandom(1) })): StickyBalancer {
  const b = new StickyBalancer(inner, { mode, secret: SECRET, cookie: { name: 'wg-sticky' } });
  b.update(endpoints(list));
  return b;
}

/** A client that keeps the cookie the balancer gives it, as a browser does. */
function client(b: StickyBalancer): { visit(): string; ctx: PickContext } {
  const ctx: PickContext = {};
  return {
    ctx,
    visit() {
      const e = b.pick(ctx)!;
      const set = b.setCookie(ctx, e);
      if (set !== undefined) ctx.sticky = /^wg-sticky=([^;]+)/.exec(set)![1];
      return letterOf(e);
    },
  };
}

test('sticky: the cookie names an endpoint without revealing its address', () => {
  const b = sticky('Balanced');
  const ctx: PickContext = {};
  const e = b.pick(ctx)!;
  const set = b.setCookie(ctx, e)!;
  assert.match(set, /^wg-sticky=[A-Za-z0-9_-]{16}; Path=\/; HttpOnly$/);
  assert.ok(!set.includes('10.0.0'), set);
  assert.ok(!Buffer.from(set.slice(10, 26), 'base64url').toString('latin1').includes('10.0'));
  // Every worker and replica with the same secret computes the same tag; another secret does not.
  assert.equal(endpointTag(stickyKey(SECRET), e.key), set.slice(10, 26));
  assert.notEqual(endpointTag(stickyKey('another-secret'), e.key), set.slice(10, 26));
});

test('sticky: new clients are balanced by the inner policy, then each stays on its endpoint', () => {
  const b = sticky('Balanced');
  const clients = [client(b), client(b), client(b)];
  assert.deepEqual(clients.map((c) => c.visit()), ['a', 'b', 'c']);
  for (let round = 0; round < 5; round++) assert.deepEqual(clients.map((c) => c.visit()), ['a', 'b', 'c']);
  // A cookie that names the endpoint picked is not set again.
  const c = clients[1];
  assert.equal(b.setCookie(c.ctx, b.pick(c.ctx)!), undefined);
});

test('sticky: a forged or unknown cookie is ignored and replaced', () => {
  const b = sticky('Persistent');
  const ctx: PickContext = { sticky: 'AAAAAAAAAAAAAAAA' };
  const e = b.pick(ctx)!;
  assert.equal(letterOf(e), 'a');
  assert.match(b.setCookie(ctx, e)!, /^wg-sticky=/);
});

// What happens to a client on `b` when b changes; `b(…)` flags as in the endpoint shorthand.
const FALLBACKS: { change: string; after: string; Balanced: 'stays' | 'moves'; Persistent: 'stays' | 'moves' }[] = [
  { change: 'nothing', after: 'a b c', Balanced: 'stays', Persistent: 'stays' },
  { change: 'removed', after: 'a c', Balanced: 'moves', Persistent: 'moves' },
  { change: 'neither ready nor serving', after: 'a b(down) c', Balanced: 'moves', Persistent: 'moves' },
  { change: 'ejected', after: 'a b(ejected) c', Balanced: 'moves', Persistent: 'moves' },
  { change: 'terminating while others are ready', after: 'a b(terminating) c', Balanced: 'moves', Persistent: 'stays' },
  { change: 'terminating, as every endpoint', after: 'a(terminating) b(terminating) c(down)', Balanced: 'stays', Persistent: 'stays' },
  { change: 'weight changed', after: 'a b:5 c', Balanced: 'stays', Persistent: 'stays' },
];

for (const c of FALLBACKS) {
  for (const mode of ['Balanced', 'Persistent'] as const) {
    test(`sticky ${mode}: a client on an endpoint that is ${c.change} ${c[mode]}`, () => {
      const b = sticky(mode);
      const clients = [client(b), client(b)];
      clients.map((x) => x.visit());
      const onB = clients[1];
      assert.equal(onB.visit(), 'b');
      b.update(endpoints(c.after));
      const next = onB.visit();
      assert.equal(next === 'b' ? 'stays' : 'moves', c[mode], `went to ${next}`);
      if (c[mode] === 'moves') assert.notEqual(onB.ctx.sticky, endpointTag(stickyKey(SECRET), keyOf('b')), 'cookie replaced');
      assert.equal(onB.visit(), next, 'and stays on its new endpoint');
    });
  }
}

test('sticky: the inner balancer may be shared and updated by its owner', () => {
  const inner = createBalancer('LeastRequest', { random: seededRandom(2) });
  const b = sticky('Balanced', 'a b', inner);
  const ctx: PickContext = { sticky: endpointTag(stickyKey(SECRET), keyOf('c')) };
  assert.notEqual(letterOf(b.pick(ctx)), 'c');
  inner.update(endpoints('a b c'));
  assert.equal(letterOf(b.pick(ctx)), 'c');
  b.onStart(inner.get(keyOf('c'))!);
  assert.equal(inner.get(keyOf('c'))!.inflight, 1);
});

const DEFAULTS = { name: 'wg-session-route-a' };
const CONFIGS: { name: string; spec: SessionPersistenceSpec; want: Partial<SessionPersistenceConfig> | string[] }[] = [
  {
    name: 'empty: a session cookie named by the implementation',
    spec: {},
    want: { name: 'wg-session-route-a', type: 'Cookie', lifetime: 'Session', absoluteTimeoutMs: undefined, idleTimeoutMs: undefined, path: '/' },
  },
  {
    name: 'permanent cookie with an absolute timeout',
    spec: { sessionName: 'cart', absoluteTimeout: '1h30m', cookieConfig: { lifetimeType: 'Permanent' } },
    want: { name: 'cart', lifetime: 'Permanent', absoluteTimeoutMs: 5_400_000 },
  },
  { name: 'header with an idle timeout', spec: { type: 'Header', sessionName: 'x-session', idleTimeout: '10m' }, want: { type: 'Header', idleTimeoutMs: 600_000 } },
  { name: 'Permanent needs absoluteTimeout', spec: { cookieConfig: { lifetimeType: 'Permanent' } }, want: ['absoluteTimeout: must be specified when cookie lifetimeType is Permanent'] },
  { name: 'cookieConfig only with Cookie', spec: { type: 'Header', cookieConfig: {} }, want: ['cookieConfig: can only be set with type Cookie'] },
  { name: 'a duration outside GEP-2257', spec: { absoluteTimeout: '1d' }, want: ['absoluteTimeout: "1d" is not a Gateway API duration (e.g. 1h, 30m, 10s)'] },
  { name: 'a zero timeout', spec: { idleTimeout: '0s' }, want: ['idleTimeout: must be greater than zero'] },
  { name: 'an unknown type', spec: { type: 'Query' }, want: ['type: must be Cookie or Header, got "Query"'] },
  { name: 'a name that cannot be a cookie name', spec: { sessionName: 'my session' }, want: ['sessionName: "my session" is not a valid cookie name'] },
  { name: 'a name over 128 characters', spec: { sessionName: 'x'.repeat(129) }, want: ['sessionName: must be at most 128 characters'] },
];

for (const c of CONFIGS) {
  test(`sessionPersistence config: ${c.name}`, () => {
    const got = sessionPersistenceConfig(c.spec, DEFAULTS);
    if (Array.isArray(c.want)) return assert.deepEqual(got, { errors: c.want });
    assert.ok('config' in got, JSON.stringify(got));
    for (const [field, value] of Object.entries(c.want)) assert.equal(got.config[field as keyof SessionPersistenceConfig], value, field);
  });
}

function config(spec: SessionPersistenceSpec): SessionPersistenceConfig {
  const got = sessionPersistenceConfig(spec, { ...DEFAULTS, path: '/shop' });
  if (!('config' in got)) throw new Error(got.errors.join('; '));
  return got.config;
}

function clock(start = 1_750_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

const TAG_A = endpointTag(stickyKey(SECRET), keyOf('a'));
const TAG_B = endpointTag(stickyKey(SECRET), keyOf('b'));

/** The token of a response header: the cookie's value or the header's. */
function tokenOf(header: [string, string] | undefined): string {
  assert.ok(header !== undefined, 'a session header');
  return header[0] === 'set-cookie' ? /^[^=]+=([^;]+)/.exec(header[1])![1] : header[1];
}

test('session persistence: without timeouts the token is the endpoint tag, set once', () => {
  const sp = new SessionPersistence(config({}), { secret: SECRET });
  const header = sp.responseHeader(undefined, TAG_A)!;
  assert.deepEqual(header, ['set-cookie', `wg-session-route-a=${TAG_A}; Path=/shop; HttpOnly`]);
  const session = sp.open(sp.token(['Cookie', `other=1; wg-session-route-a=${TAG_A}`]));
  assert.equal(session?.tag, TAG_A);
  assert.equal(sp.responseHeader(session, TAG_A), undefined);
  assert.equal(tokenOf(sp.responseHeader(session, TAG_B)), TAG_B, 'a session that had to move is re-issued');
  assert.equal(sp.open('not-a-tag'), undefined);
});

test('session persistence: a session ends once absoluteTimeout has passed since it began', () => {
  const c = clock();
  const sp = new SessionPersistence(config({ absoluteTimeout: '1h' }), { secret: SECRET, now: c.now });
  const token = tokenOf(sp.responseHeader(undefined, TAG_A));
  c.advance(3_600_000 - 1);
  const session = sp.open(token);
  assert.equal(session?.tag, TAG_A);
  assert.equal(sp.responseHeader(session, TAG_A), undefined, 'no idle timeout: nothing to renew');
  c.advance(1);
  assert.equal(sp.open(token), undefined);
});

test('session persistence: a session ends after idleTimeout without requests, and each request renews it', () => {
  const c = clock();
  const sp = new SessionPersistence(config({ idleTimeout: '10m' }), { secret: SECRET, now: c.now });
  let token = tokenOf(sp.responseHeader(undefined, TAG_A));
  const first = token;
  for (let i = 0; i < 6; i++) {
    c.advance(5 * 60_000);
    const session = sp.open(token);
    assert.equal(session?.tag, TAG_A, `request ${i} after 5 minutes`);
    token = tokenOf(sp.responseHeader(session, TAG_A));
  }
  assert.equal(sp.open(first), undefined, 'the first token expired 30 minutes ago');
  c.advance(10 * 60_000);
  assert.equal(sp.open(token), undefined);
});

test('session persistence: renewal is sent only once 1/16 of idleTimeout has passed', () => {
  const c = clock();
  const sp = new SessionPersistence(config({ idleTimeout: '16s' }), { secret: SECRET, now: c.now });
  const token = tokenOf(sp.responseHeader(undefined, TAG_A));
  c.advance(999);
  assert.equal(sp.responseHeader(sp.open(token), TAG_A), undefined);
  c.advance(1);
  assert.ok(sp.responseHeader(sp.open(token), TAG_A) !== undefined);
});

test('session persistence: renewals do not extend absoluteTimeout', () => {
  const c = clock();
  const sp = new SessionPersistence(config({ absoluteTimeout: '20m', idleTimeout: '10m' }), { secret: SECRET, now: c.now });
  let token = tokenOf(sp.responseHeader(undefined, TAG_A));
  for (let i = 0; i < 3; i++) {
    c.advance(6 * 60_000);
    token = tokenOf(sp.responseHeader(sp.open(token), TAG_A));
  }
  c.advance(2 * 60_000);
  assert.equal(sp.open(token), undefined);
});

test('session persistence: a token altered, or made for another session name, is refused', () => {
  const c = clock();
  const sp = new SessionPersistence(config({ absoluteTimeout: '1h' }), { secret: SECRET, now: c.now });
  const token = tokenOf(sp.responseHeader(undefined, TAG_A));
  const [tag, created, renewed, mac] = token.split('.');
  const later = (parseInt(created, 36) + 3_600_000).toString(36);
  assert.equal(sp.open([tag, later, later, mac].join('.')), undefined, 'extended');
  assert.equal(sp.open([TAG_B, created, renewed, mac].join('.')), undefined, 'moved');
  const other = new SessionPersistence({ ...config({ absoluteTimeout: '1h' }), name: 'other' }, { secret: SECRET, now: c.now });
  assert.equal(other.open(token), undefined);
  assert.equal(sp.open(token)?.tag, TAG_A);
});

test('session persistence: a Permanent cookie carries Max-Age of what is left; a Session cookie none', () => {
  const c = clock();
  const permanent = new SessionPersistence(
    config({ absoluteTimeout: '1h', idleTimeout: '30m', cookieConfig: { lifetimeType: 'Permanent' } }),
    { secret: SECRET, now: c.now },
  );
  const set = permanent.responseHeader(undefined, TAG_A)!;
  assert.match(set[1], /^wg-session-route-a=[^;]+; Path=\/shop; HttpOnly; Max-Age=3600$/);
  c.advance(20 * 60_000);
  assert.match(permanent.responseHeader(permanent.open(tokenOf(set)), TAG_A)![1], /; Max-Age=2400$/);
  const session = new SessionPersistence(config({ absoluteTimeout: '1h' }), { secret: SECRET, now: c.now });
  assert.doesNotMatch(session.responseHeader(undefined, TAG_A)![1], /Max-Age|Expires/);
});

test('session persistence: the Header type reads and answers the header named sessionName', () => {
  const c = clock();
  const sp = new SessionPersistence(config({ type: 'Header', sessionName: 'X-Session', absoluteTimeout: '5m' }), { secret: SECRET, now: c.now });
  const [name, token] = sp.responseHeader(undefined, TAG_B)!;
  assert.equal(name, 'X-Session');
  assert.equal(sp.open(sp.token(['x-session', token]))?.tag, TAG_B);
  assert.equal(sp.token(['Cookie', `X-Session=${token}`]), undefined);
});

test('session persistence: a session stays on its endpoint while it drains, and moves when it is gone', () => {
  const c = clock();
  const sp = new SessionPersistence(config({ absoluteTimeout: '1h' }), { secret: SECRET, now: c.now });
  const backend = createBalancer('RoundRobin');
  backend.update(endpoints('a b c'));
  const index = new StickyIndex(backend, stickyKey(SECRET));
  let token: string | undefined;
  const visit = (): string => {
    const session = sp.open(token);
    const e = (session && index.findUsable(session.tag, SESSION_MODE)) ?? backend.pick({})!;
    const header = sp.responseHeader(session, index.tagOf(e));
    if (header !== undefined) token = tokenOf(header);
    return letterOf(e);
  };
  assert.equal(visit(), 'a');
  assert.equal(visit(), 'a');
  backend.update(endpoints('a(terminating) b c'));
  assert.equal(visit(), 'a', 'draining: the session finishes where it is');
  backend.update(endpoints('b c'));
  const moved = visit();
  assert.notEqual(moved, 'a');
  assert.equal(visit(), moved);
});
