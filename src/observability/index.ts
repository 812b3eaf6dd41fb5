// observability: logger and diagnostics channel names.
export { createLogger, silentLogger, type Logger, type LoggerOptions } from './logger.ts';
export { CHANNELS } from './channels.ts';
