// dataplane: binds, proxy, upstream client and pools. May import compiler, ir, util, observability and node:*.
export { DataPlane } from './data-plane.ts';
export type { ApplyResult, ApplyTimings, DataPlaneOptions } from './data-plane.ts';
export { DEFAULT_LIMITS } from './limits.ts';
export type { ProxyLimits } from './limits.ts';
export {
  PROXY_ERROR_CHANNEL, PRX_ERR_NO_ROUTE, PRX_ERR_NO_ENDPOINTS, PRX_ERR_INVALID_BACKEND,
  PRX_ERR_UPSTREAM_CONNECT, PRX_ERR_UPSTREAM_TIMEOUT, PRX_ERR_UPSTREAM_RESET, PRX_ERR_REQUEST_TOO_LARGE,
} from './errors.ts';
export type { ProxyErrorCode, ProxyErrorEvent, ProxyRetryEvent } from './errors.ts';
export { PROXY_RETRY_CHANNEL } from './errors.ts';
export { ActiveHealthChecker } from './health/active-checker.ts';
export type { ActiveHealthCheckerOptions, TargetStatus } from './health/active-checker.ts';
export type { HealthEntry, HealthUpdate } from './health/health-view.ts';
export { DEFAULT_OUTLIER_DETECTION, OUTLIER_CHANNEL } from './health/outlier-detector.ts';
export type { OutlierEvent, OutlierSpec } from './health/outlier-detector.ts';
