// HTTPRequestMirrorFilter: copies of a request sent to other backends, answers read and
// dropped. A mirror never delays, fails or slows the main request: it has its own pools,
// a bounded number in flight, and a request body reaches it through a bounded tee.
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import type { BackendState } from '../backend-state.ts';
import { PICK_CONTEXT } from '../exchange.ts';
import type { UpstreamPools } from '../upstream-pools.ts';
import type { UpstreamHandler, UpstreamRequest } from '../upstream/types.ts';

/** At most this many copies in flight per mirror of a route; more are dropped, not queued. */
export const MIRROR_MAX_IN_FLIGHT = 256;
/** A mirror whose body copy has this many bytes waiting is dropped (it fell behind). */
export const MIRROR_BODY_BUFFER_BYTES = 1024 * 1024;
/** A mirror answer that takes longer than this is abandoned. */
export const MIRROR_TIMEOUT_MS = 15_000;

/** One mirror of a rule or backendRef, with its share's running score; kept across configs with its route. */
export interface MirrorState {
  readonly backend: BackendState | undefined;
  readonly numerator: number;
  readonly denominator: number;
  score: number;
  inFlight: number;
}

/**
 * Whether this request is mirrored: the share numerator/denominator is kept exactly by a
 * running score (as the smooth weighted choice), not drawn at random, so 1/4 mirrors every
 * fourth request.
 */
export function takesShare(m: MirrorState): boolean {
  if (m.numerator <= 0 || m.backend === undefined || m.inFlight >= MIRROR_MAX_IN_FLIGHT) return false;
  m.score += m.numerator;
  if (m.score < m.denominator) return false;
  m.score -= m.denominator;
  return true;
}

/** What a mirror copy sends: the request as its route rewrote it, its body given apart. */
export type MirrorRequest = Pick<UpstreamRequest, 'path' | 'method' | 'headers'>;

/** Sends one copy, picked by the mirror backend's own balancer; every failure is dropped. */
export function sendMirror(m: MirrorState, pools: UpstreamPools, options: MirrorRequest, body: PassThrough | Buffer | null): void {
  const backend = m.backend!;
  PICK_CONTEXT.hash = undefined;
  PICK_CONTEXT.sticky = undefined;
  const endpoint = backend.balancer.pick(PICK_CONTEXT);
  if (endpoint === undefined) {
    if (body instanceof PassThrough) body.destroy();
    return;
  }
  let pool = backend.pools.get(endpoint.key);
  if (pool === undefined || pool.closed || pool.destroyed) pool = pools.transient(endpoint.key);
  m.inFlight++;
  pool.dispatch({
    path: options.path, method: options.method, headers: options.headers, body,
    headersTimeout: MIRROR_TIMEOUT_MS, bodyTimeout: MIRROR_TIMEOUT_MS,
  }, new MirrorAnswer(m, body));
}

/** Reads a mirror's answer and drops it; its end, whatever it is, frees the mirror's slot. */
class MirrorAnswer implements UpstreamHandler {
  readonly #m: MirrorState;
  readonly #body: PassThrough | Buffer | null;

  constructor(m: MirrorState, body: PassThrough | Buffer | null) {
    this.#m = m;
    this.#body = body;
  }

  onRequestStart(): void {}
  onBodySent(): void {}
  onResponseStart(): void {}
  onResponseData(): void {}

  onResponseEnd(): void {
    this.#m.inFlight--;
  }

  onResponseError(): void {
    this.#m.inFlight--;
    // A copy of the body nobody reads any more must not hold the tee.
    if (this.#body instanceof PassThrough) this.#body.destroy();
  }
}

/**
 * Splits a request body between the main request and `copies` mirrors. The main request keeps
 * its backpressure (the client is paused while the upstream is slow); a mirror that falls more
 * than MIRROR_BODY_BUFFER_BYTES behind is cut, so it can never hold the main request up. A
 * client that aborts ends every branch with an error.
 */
export function teeBody(req: IncomingMessage, copies: number): { main: PassThrough; mirrors: PassThrough[] } {
  const main = new PassThrough();
  const mirrors: PassThrough[] = [];
  for (let i = 0; i < copies; i++) mirrors.push(new PassThrough({ highWaterMark: MIRROR_BODY_BUFFER_BYTES }));
  main.on('drain', () => req.resume());
  req.on('data', (chunk: Buffer) => {
    for (const m of mirrors) {
      if (m.destroyed) continue;
      if (m.writableLength > MIRROR_BODY_BUFFER_BYTES) m.destroy(new Error('mirror fell behind'));
      else m.write(chunk);
    }
    if (!main.write(chunk)) req.pause();
  });
  req.on('end', () => {
    main.end();
    for (const m of mirrors) if (!m.destroyed) m.end();
  });
  req.on('close', () => {
    if (req.complete) return;
    const err = new Error('client closed the request body');
    main.destroy(err);
    for (const m of mirrors) m.destroy(err);
  });
  return { main, mirrors };
}
