import type { Snapshot } from '../api/index.ts';
import type { TranslateOptions, TranslateResult } from './types.ts';

// Placeholder until the processors land: no listeners, no statuses.
export function translate(_snapshot: Snapshot, _options: TranslateOptions): TranslateResult {
  return { ir: { binds: [], backends: [] }, statuses: [] };
}
