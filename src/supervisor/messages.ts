// The IPC envelopes exchanged between the supervisor, the controller and the workers.
import type { IR } from '../ir/index.ts';
import type { PackedIR } from './ir-parts.ts';

/** A configuration: the whole IR, or the IR in parts (only those the receiver does not hold yet, see ir-parts.ts). */
export interface ConfigEnvelope {
  readonly type: 'config';
  readonly version: string;
  readonly ir?: IR;
  readonly packed?: PackedIR;
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

/**
 * Controller → supervisor → every worker: results of the active health checks run once per node.
 * Only changes, or (`full`) the whole view, which lists the unhealthy endpoints and nothing else.
 * `key` is `<check id> <address:port>`.
 */
export interface HealthEnvelope {
  readonly type: 'health';
  readonly full: boolean;
  readonly entries: readonly { readonly key: string; readonly healthy: boolean; readonly reason?: string }[];
}

export type Envelope = ConfigEnvelope | AckEnvelope | FleetEnvelope | HealthEnvelope;

export function isEnvelope(m: unknown): m is Envelope {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
