// util: tiny, dependency-free helpers.
export { contentHash, stableStringify } from './stable-json.ts';
export { parseDuration } from './duration.ts';
export { hostPort } from './host-port.ts';
