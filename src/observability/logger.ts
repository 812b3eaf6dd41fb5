// The process logger (pino, JSON lines on stderr). The hot path does not log: it publishes on
// diagnostics channels (see channels.ts) and observers decide what to record.
import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly level?: string;
  readonly role?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.WAYGATE_LOG_LEVEL ?? 'info';
  return pino({ level, base: options.role ? { role: options.role, pid: process.pid } : { pid: process.pid } }, pino.destination(2));
}

/** A logger that drops everything: for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
