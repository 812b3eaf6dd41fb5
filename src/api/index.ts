// api: types of the objects Waygate reads (Gateway API, core). No logic beyond key helpers.
export * from './meta.ts';
export * from './core.ts';
export * from './gateway-api.ts';
export type * from './snapshot.ts';
export * from './gateway-service.ts';
export * from './waygate.ts';
export * from './apiextensions.ts';
