// The hot path: a client connection of a plain HTTP bind, served without node's HTTP server
// while its requests are the plainest kind (fast/request-head.ts); changes here are measured.
// The first request that is not (a body, an Upgrade, HTTP/1.0, anything unusual, a route with
// filters) hands the connection, that request's bytes included, to node's server for good.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { HEAD_END } from '../http1-framing.ts';
import type { ProxyLimits } from '../limits.ts';
import type { BindRef, ProxyContext } from '../proxy.ts';
import { NO_DEADLINE, type DeadlineSweep, type Expiring } from '../upstream/sweep.ts';
import { FastResponse, type ResponseOwner } from './fast-response.ts';
import { recognizeRequest, type FastHead } from './request-head.ts';


// What the connection's deadline means.
const D_NONE = NO_DEADLINE;
const D_HEAD = 1;
const D_IDLE = 2;

/** What a fast connection needs of its bind. */
export interface FastBind extends BindRef {
  readonly limits: ProxyLimits;
  readonly sweep: DeadlineSweep;
  readonly fastConnections: Set<FastConnection>;
  /** Serves one request: the proxy's entry point, as for node's server. */
  serve(req: IncomingMessage, res: ServerResponse): void;
  /** node's HTTP server takes `socket` from here on. */
  adopt(socket: Socket): void;
}

/** The request as the proxy reads it: the members of IncomingMessage it uses, for a request without body. */
class FastRequest {
  readonly method: string;
  readonly url: string;
  readonly rawHeaders: string[];
  readonly socket: Socket;
  readonly readableDidRead = false;
  readonly complete = true;

  constructor(head: FastHead, socket: Socket) {
    this.method = head.method;
    this.url = head.url;
    this.rawHeaders = head.rawHeaders;
    this.socket = socket;
  }
}

export class FastConnection implements ResponseOwner, Expiring {
  readonly socket: Socket;
  readonly #bind: FastBind;
  readonly keepAliveSeconds: number;
  closing = false;
  deadline = 0;
  deadlineKind = D_NONE;
  /** Bytes read and not yet taken: a partial head, or pipelined requests behind the current one. */
  #buffered: Buffer | null = null;
  #response: FastResponse | null = null;
  /** The current request's head bytes: given back to node's server if the request is handed off. */
  #current: Buffer | null = null;
  #gone = false;
  readonly #onData = (chunk: Buffer): void => this.#read(chunk);
  readonly #onDrain = (): void => this.#response?.emitDrain();
  readonly #onClose = (): void => this.#closed();
  readonly #onError = (): void => void this.socket.destroy();
  /**
   * A client that ends its side is gone, as for node's server (without httpAllowHalfOpen): the
   * request in flight is aborted and the connection ends.
   */
  readonly #onEnd = (): void => {
    const res = this.#response;
    this.#response = null;
    this.#end();
    res?.emitClose();
  };

  constructor(bind: FastBind, socket: Socket) {
    this.#bind = bind;
    this.socket = socket;
    this.keepAliveSeconds = Math.floor(bind.limits.clientKeepAliveTimeoutMs / 1000);
    socket.on('data', this.#onData);
    socket.on('drain', this.#onDrain);
    socket.on('close', this.#onClose);
    socket.on('error', this.#onError);
    socket.on('end', this.#onEnd);
    bind.fastConnections.add(this);
    bind.sweep.add(this);
    this.#setDeadline(D_HEAD, bind.limits.clientHeadersTimeoutMs);
  }

  /** Idle: no request in flight and nothing buffered. */
  get idle(): boolean {
    return this.#response === null && this.#buffered === null;
  }

  #read(chunk: Buffer): void {
    this.#buffered = this.#buffered === null ? chunk : Buffer.concat([this.#buffered, chunk]);
    if (this.#response !== null) {
      // Pipelined requests wait for the current answer; a client that sends more than a head's worth is slowed.
      if (this.#buffered.length > this.#bind.limits.maxHeaderBytes) this.socket.pause();
      return;
    }
    this.#next();
  }

  /** Takes the next request from the buffer, if whole; hands the connection off when it is not for the fast path. */
  #next(): void {
    const buf = this.#buffered;
    if (buf === null || this.#gone) return;
    const max = this.#bind.limits.maxHeaderBytes;
    const end = buf.indexOf(HEAD_END);
    if (end < 0 || end + 4 > max) {
      if (end >= 0 || buf.length > max) return this.handOff();
      if (this.deadlineKind !== D_HEAD) this.#setDeadline(D_HEAD, this.#bind.limits.clientHeadersTimeoutMs);
      return;
    }
    const head = recognizeRequest(buf.toString('latin1', 0, end));
    if (head === undefined) return this.handOff();
    this.#current = buf.subarray(0, end + 4);
    this.#buffered = end + 4 < buf.length ? buf.subarray(end + 4) : null;
    this.deadlineKind = D_NONE;
    this.closing ||= head.close || this.#bind.draining;
    const res = new FastResponse(this, head.method === 'HEAD');
    this.#response = res;
    // The proxy's plain path reads only what FastRequest and FastResponse provide (a route that
    // needs more, one with extras, is handed off before anything is read or written).
    this.#bind.serve(new FastRequest(head, this.socket) as unknown as IncomingMessage, res as unknown as ServerResponse);
  }

  onResponseEnd(res: FastResponse, close: boolean): void {
    if (this.#response !== res) return;
    this.#response = null;
    if (close || this.closing || this.#bind.draining) return this.#end();
    this.#setDeadline(D_IDLE, this.#bind.limits.clientKeepAliveTimeoutMs);
    if (this.socket.isPaused()) this.socket.resume();
    // A pipelined request goes next, after this answer's writes.
    if (this.#buffered !== null) queueMicrotask(() => this.#next());
  }

  /**
   * node's server takes the connection with every byte not yet taken: the current request's too
   * when nothing of its answer was written (a route with filters), else what follows it.
   */
  handOff(): void {
    if (this.#gone) return;
    const res = this.#response;
    if (res !== null && res.headersSent) return void this.socket.destroy();
    let pending = this.#buffered;
    if (res !== null) pending = pending === null ? this.#current : Buffer.concat([this.#current!, pending]);
    this.#forget();
    const socket = this.socket;
    socket.pause();
    socket.off('data', this.#onData);
    socket.off('drain', this.#onDrain);
    socket.off('close', this.#onClose);
    socket.off('end', this.#onEnd);
    socket.off('error', this.#onError);
    if (pending !== null) socket.unshift(pending);
    this.#bind.adopt(socket);
    socket.resume();
  }

  /** Closes an idle connection (a drain, or the idle timeout). */
  closeIdle(): void {
    if (this.idle) this.#end();
  }

  onDeadline(): void {
    const kind = this.deadlineKind;
    this.deadlineKind = D_NONE;
    // A head begun and not finished in time gets 408, as from node's server; a connection that
    // sent nothing, or idle too long, is closed without an answer.
    if (kind === D_HEAD && this.#buffered !== null && this.#response === null) {
      this.socket.write('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n', 'latin1');
    }
    if (kind === D_HEAD || kind === D_IDLE) this.#end();
  }

  #setDeadline(kind: number, ms: number): void {
    this.deadlineKind = kind;
    this.deadline = performance.now() + ms;
  }

  #end(): void {
    if (this.#gone) return;
    this.#forget();
    // Ends the connection once what was written is flushed.
    this.socket.destroySoon();
  }

  #closed(): void {
    const res = this.#response;
    this.#response = null;
    this.#forget();
    res?.emitClose();
  }

  #forget(): void {
    this.#gone = true;
    this.deadlineKind = D_NONE;
    this.#bind.fastConnections.delete(this);
    this.#bind.sweep.delete(this);
  }
}
