// Names of the diagnostics channels Waygate publishes on. One place, so observers and
// publishers agree.
export const CHANNELS = {
  proxyError: 'waygate:proxy:error',
} as const;
