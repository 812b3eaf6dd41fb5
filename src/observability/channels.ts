// Names of the diagnostics channels Waygate publishes on. One place, so observers and
// publishers agree.
export const CHANNELS = {
  proxyError: 'waygate:proxy:error',
  proxyRetry: 'waygate:proxy:retry',
  outlier: 'waygate:health:outlier',
} as const;
