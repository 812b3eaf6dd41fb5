// Shorthand for load-balancer table tests: endpoints written as `a:5 b(terminating) c(ejected)`.
import type { Balancer, Endpoint, EndpointInput, PickContext } from '../src/dataplane/lb/index.ts';

/** Letter `a` is 10.0.0.1:8080, `b` 10.0.0.2:8080, and so on. */
export function keyOf(letter: string): string {
  return `10.0.0.${letter.charCodeAt(0) - 96}:8080`;
}

export function letterOf(endpoint: Endpoint | undefined): string {
  if (endpoint === undefined) return '-';
  return String.fromCharCode(96 + Number(endpoint.key.slice(7, endpoint.key.indexOf(':'))));
}

/**
 * `a:5` has weight 5; flags in parentheses: `terminating` (serving, not ready), `down` (neither
 * ready nor serving), `ejected`.
 */
export function endpoints(text: string): EndpointInput[] {
  return text.split(/\s+(?![^(]*\))/).filter(Boolean).map((word) => {
    const m = /^([a-z])(?::(\d+))?(?:\(([^)]*)\))?$/.exec(word);
    if (m === null) throw new Error(`bad endpoint ${word}`);
    const flags = new Set((m[3] ?? '').split(/[ ,]+/).filter(Boolean));
    return {
      key: keyOf(m[1]),
      ...(m[2] !== undefined ? { weight: Number(m[2]) } : {}),
      ...(flags.has('terminating') ? { terminating: true, serving: true, ready: false } : {}),
      ...(flags.has('down') ? { ready: false, serving: false } : {}),
      ...(flags.has('ejected') ? { ejected: true } : {}),
    };
  });
}

/** `count` picks as letters separated by spaces. */
export function sequence(b: Balancer, count: number, ctx: PickContext = {}): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(letterOf(b.pick(ctx)));
  return out.join(' ');
}

/** Share of picks per letter over `count` picks; `hashOf(i)` gives each pick a hash when set. */
export function shares(b: Balancer, count: number, hashOf?: (i: number) => number): Map<string, number> {
  const counts = new Map<string, number>();
  const ctx: PickContext = {};
  for (let i = 0; i < count; i++) {
    ctx.hash = hashOf?.(i);
    const letter = letterOf(b.pick(ctx));
    counts.set(letter, (counts.get(letter) ?? 0) + 1);
  }
  const out = new Map<string, number>();
  for (const [letter, n] of [...counts].sort()) out.set(letter, n / count);
  return out;
}

/** The letters picked at least once in `count` picks. */
export function pickedSet(b: Balancer, count: number, hashOf?: (i: number) => number): string {
  return [...shares(b, count, hashOf).keys()].join(' ');
}
