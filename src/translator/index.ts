// translator: PURE. snapshot → { ir, statuses, services }. No I/O, no clock, no randomness.
export { translate } from './translate.ts';
export { TranslationCache } from './translation-cache.ts';
export { SUPPORTED_FEATURES, supportedFeatures } from './supported-features.ts';
export type {
  GatewayServiceType, KubernetesDeployment, ObjectStatus, TranslateOptions, TranslateResult,
} from './types.ts';
