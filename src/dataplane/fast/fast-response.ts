// The hot path: the answer to a fast-path request, written straight to the client socket;
// changes here are measured. It offers the part of node's ServerResponse the proxy uses
// (writeHead, write, end, destroy, the close and drain events, headersSent), so the proxy and
// its exchange serve both paths with the same code.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { eqLower } from '../headers.ts';
import { writeChunk } from '../http1-framing.ts';

/** What the response needs of its connection. */
export interface ResponseOwner {
  readonly socket: Socket;
  /** Idle time a kept-alive connection gets, announced in `Keep-Alive: timeout`. */
  readonly keepAliveSeconds: number;
  /** The client asked to close, or the bind drains: the answer says `Connection: close`. */
  readonly closing: boolean;
  /** The response was written whole (`close`: the connection closes after it). */
  onResponseEnd(res: FastResponse, close: boolean): void;
  /** The request is not for the fast path after all: node's server takes the connection, this request included. */
  handOff(): void;
}

type Listener = (this: FastResponse) => void;

export class FastResponse {
  readonly owner: ResponseOwner;
  readonly #head: boolean;
  #status = 0;
  #headers: string[] | undefined = undefined;
  /** The head went to the socket. */
  #headWritten = false;
  writableEnded = false;
  destroyed = false;
  #chunked = false;
  #close = false;
  #onClose: Listener[] | undefined = undefined;
  #closeEmitted = false;
  #onDrain: Listener[] | undefined = undefined;

  constructor(owner: ResponseOwner, isHead: boolean) {
    this.owner = owner;
    this.#head = isHead;
  }

  /** As node's: true once writeHead was called, before anything reached the socket. */
  get headersSent(): boolean {
    return this.#headers !== undefined || this.#headWritten;
  }

  writeHead(status: number, headers: string[]): this {
    this.#status = status;
    this.#headers = headers;
    return this;
  }

  /** Writes `chunk` (the head first, once) in one system call; false when the client's socket buffer is full. */
  write(chunk: Buffer | string): boolean {
    if (this.writableEnded || this.destroyed) return false;
    const socket = this.owner.socket;
    socket.cork();
    if (!this.#headWritten) this.#writeHead(socket);
    let flushed = !socket.writableNeedDrain;
    if (chunk.length > 0) {
      flushed = this.#chunked ? writeChunk(socket, chunk) : socket.write(chunk);
    }
    socket.uncork();
    return flushed;
  }

  end(chunk?: Buffer | string): this {
    if (this.writableEnded || this.destroyed) return this;
    const socket = this.owner.socket;
    socket.cork();
    if (chunk !== undefined) this.write(chunk);
    else if (!this.#headWritten) this.#writeHead(socket);
    if (this.#chunked) socket.write('0\r\n\r\n', 'latin1');
    socket.uncork();
    this.writableEnded = true;
    this.owner.onResponseEnd(this, this.#close);
    return this;
  }

  /** Cuts the client connection (a response that cannot be finished). */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.owner.socket.destroy();
  }

  on(event: 'close' | 'drain', listener: Listener): this {
    if (event === 'close') (this.#onClose ??= []).push(listener);
    else (this.#onDrain ??= []).push(listener);
    return this;
  }

  /** The client connection closed (before or after the end: the listener checks). */
  emitClose(): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.destroyed = true;
    for (const listener of this.#onClose ?? []) listener.call(this);
  }

  emitDrain(): void {
    for (const listener of this.#onDrain ?? []) listener.call(this);
  }

  /** The status line and fields; chunked when the length is unknown; `Connection: close` when the connection ends after this. */
  #writeHead(socket: Socket): void {
    this.#headWritten = true;
    const status = this.#status || 200;
    const headers = this.#headers ?? [];
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
    let length = false;
    let close = this.owner.closing;
    let date = false;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      const value = headers[i + 1];
      if (name.length === 14 && eqLower(name, 'content-length')) length = true;
      else if (name.length === 10 && eqLower(name, 'connection')) {
        if (value.toLowerCase().includes('close')) close = true;
        continue;
      } else if (name.length === 4 && eqLower(name, 'date')) date = true;
      head += `${name}: ${value}\r\n`;
    }
    if (!date) head += `date: ${httpDate()}\r\n`;
    const bodyless = this.#head || status === 204 || status === 304 || status < 200;
    if (!length && !bodyless) {
      this.#chunked = true;
      head += 'transfer-encoding: chunked\r\n';
    }
    this.#close = close;
    head += close ? 'connection: close\r\n\r\n' : `keep-alive: timeout=${this.owner.keepAliveSeconds}\r\n\r\n`;
    socket.write(head, 'latin1');
  }
}

let dateSecond = 0;
let dateText = '';

/** The IMF-fixdate of now, computed once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}
