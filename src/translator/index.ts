// translator: PURE. snapshot → { ir, statuses }. No I/O, no clock, no randomness.
export { translate } from './translate.ts';
export type { ObjectStatus, TranslateOptions, TranslateResult } from './types.ts';
