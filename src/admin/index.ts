// admin: the admin HTTP API.
export { parseHostPort, startAdminServer, startHealthServer, type AdminOptions, type AdminSource } from './admin-server.ts';
export { redactSecrets } from './redact.ts';
