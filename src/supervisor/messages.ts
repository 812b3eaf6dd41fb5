// The IPC envelopes exchanged between the supervisor, the controller and the workers.
import type { IR } from '../ir/index.ts';

export interface ConfigEnvelope {
  readonly type: 'config';
  readonly version: string;
  readonly ir: IR;
}

export interface AckEnvelope {
  readonly type: 'ack';
  readonly version: string;
  readonly worker: string;
  readonly binds: readonly { readonly name: string; readonly error?: string }[];
}

/** Supervisor → controller: the live state of the worker fleet. */
export interface FleetEnvelope {
  readonly type: 'fleet';
  readonly workers: readonly string[];
  readonly live?: string;
  readonly allLive: boolean;
  readonly bindErrors: readonly { readonly worker: string; readonly name: string; readonly error: string }[];
}

export type Envelope = ConfigEnvelope | AckEnvelope | FleetEnvelope;

export function isEnvelope(m: unknown): m is Envelope {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
