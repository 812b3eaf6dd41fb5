// Failures as kube-apiserver reports them: an HTTP code and a `Status` object whose reason
// and message follow k8s.io/apimachinery/pkg/api/errors.
import type { KubeJson, ResourceDef } from './resources.ts';

export class StatusError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: KubeJson | undefined;
  /** The Status's ListMeta (a 410 for an expired continue token carries a token to go on inconsistently). */
  readonly listMeta: KubeJson;

  constructor(code: number, reason: string, message: string, details?: KubeJson, listMeta: KubeJson = {}) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
    this.listMeta = listMeta;
  }

  toStatus(): KubeJson {
    const status: KubeJson = { kind: 'Status', apiVersion: 'v1', metadata: { ...this.listMeta }, status: 'Failure', message: this.message, reason: this.reason };
    if (this.details) status.details = this.details;
    status.code = this.code;
    return status;
  }
}

/** `services "web"`, `httproutes.gateway.networking.k8s.io "web"`: how messages name an object. */
function qualified(def: ResourceDef, name: string): string {
  return `${def.group ? `${def.plural}.${def.group}` : def.plural} "${name}"`;
}

function details(def: ResourceDef, name: string): KubeJson {
  return def.group ? { name, group: def.group, kind: def.plural } : { name, kind: def.plural };
}

export const errors = {
  notFound: (def: ResourceDef, name: string) => new StatusError(404, 'NotFound', `${qualified(def, name)} not found`, details(def, name)),
  /** What the server answers for a path it does not serve (for example a CRD not installed). */
  noResource: () => new StatusError(404, 'NotFound', 'the server could not find the requested resource', {}),
  alreadyExists: (def: ResourceDef, name: string) => new StatusError(409, 'AlreadyExists', `${qualified(def, name)} already exists`, details(def, name)),
  conflict: (def: ResourceDef, name: string) => new StatusError(409, 'Conflict',
    `Operation cannot be fulfilled on ${qualified(def, name)}: the object has been modified; please apply your changes to the latest version and try again`, details(def, name)),
  conflictPrecondition: (def: ResourceDef, name: string, message: string) => new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(def, name)}: ${message}`, details(def, name)),
  badRequest: (message: string) => new StatusError(400, 'BadRequest', message),
  invalid: (def: ResourceDef, name: string, causes: { field: string; message: string; reason?: string }[]) => new StatusError(422, 'Invalid',
    `${def.kind} ${JSON.stringify(name)} is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
    { ...details(def, name), kind: def.kind, causes: causes.map((c) => ({ reason: c.reason ?? 'FieldValueInvalid', message: c.message, field: c.field })) }),
  expiredWatch: (requested: number, oldest: number) => new StatusError(410, 'Expired', `too old resource version: ${requested} (${oldest})`),
  expiredContinue: (inconsistentContinue?: string) => new StatusError(410, 'Expired',
    'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.', undefined, inconsistentContinue ? { continue: inconsistentContinue } : {}),
  tooLargeResourceVersion: (requested: number, current: number) => new StatusError(504, 'Timeout', `Timeout: Too large resource version: ${requested}, current: ${current}`,
    { causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }], retryAfterSeconds: 1 }),
  unauthorized: () => new StatusError(401, 'Unauthorized', 'Unauthorized'),
  /** RBAC grants the user nothing on the resource (the authorizer's message). */
  forbidden: (def: ResourceDef, user: string, verb: string, namespace: string | undefined) => new StatusError(
    403, 'Forbidden',
    `${def.group ? `${def.plural}.${def.group}` : def.plural} is forbidden: User "${user}" cannot ${verb} resource "${def.plural}" in API group "${def.group ?? ''}" ${namespace ? `in the namespace "${namespace}"` : 'at the cluster scope'}`,
    { group: def.group ?? '', kind: def.plural },
  ),
  methodNotAllowed: (method: string) => new StatusError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource (${method})`),
  unsupportedMediaType: (type: string) => new StatusError(415, 'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml${type ? ` (got ${type})` : ''}`),
  namespaceNotFound: (namespace: string) => new StatusError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' }),
  internal: (message: string) => new StatusError(500, 'InternalError', `Internal error occurred: ${message}`),
};
