// What the registry strategies of kube-apiserver do to an object on its way into storage:
// validation, defaulting, server-set metadata, generation and managedFields.
import { randomBytes, randomUUID } from 'node:crypto';
import { StatusError, errors } from './errors.ts';
import { groupVersion, type KubeJson, type ResourceDef } from './resources.ts';

const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

export const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
export const isObject = (v: unknown): v is KubeJson => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Check the body's apiVersion and kind against the path; built-in types default missing ones. */
export function checkTypeMeta(def: ResourceDef, version: string, body: unknown): KubeJson {
  if (!isObject(body)) throw errors.badRequest('the body of the request was in an unknown format - accepted media types include: application/json, application/yaml');
  const want = groupVersion(def.group, version);
  if (def.crd) {
    if (!body.kind) throw errors.badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    if (!body.apiVersion) throw errors.badRequest(`Object 'apiVersion' is missing in '${JSON.stringify(body)}'`);
  }
  if (body.apiVersion !== undefined && body.apiVersion !== want) {
    throw errors.badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${want})`);
  }
  if (body.kind !== undefined && body.kind !== def.kind) {
    throw errors.badRequest(`${body.kind} in version "${version}" cannot be handled as a ${def.kind}: the kind in the data does not match the path`);
  }
  if (body.metadata !== undefined && !isObject(body.metadata)) throw errors.badRequest('metadata must be an object');
  return { ...body, apiVersion: want, kind: def.kind, metadata: { ...(body.metadata ?? {}) } };
}

/** Name and namespace checks of ValidateObjectMeta (422) and of the request (400). */
export function checkName(def: ResourceDef, obj: KubeJson, pathNamespace: string | undefined): void {
  const meta = obj.metadata;
  if (def.namespaced) {
    if (meta.namespace && pathNamespace && meta.namespace !== pathNamespace) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    meta.namespace = pathNamespace ?? meta.namespace;
    if (!meta.namespace) throw errors.badRequest('the server could not find the requested resource');
  } else delete meta.namespace;
  if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`;
  if (!meta.name) throw errors.invalid(def, '', [{ field: 'metadata.name', message: 'Required value: name or generateName is required', reason: 'FieldValueRequired' }]);
  const rule = def.plural === 'services' ? LABEL_1035 : def.plural === 'namespaces' ? LABEL_1123 : SUBDOMAIN;
  if (typeof meta.name !== 'string' || !rule.test(meta.name) || meta.name.length > (rule === SUBDOMAIN ? 253 : 63)) {
    throw errors.invalid(def, String(meta.name), [{ field: 'metadata.name', message: `Invalid value: ${JSON.stringify(meta.name)}: a lowercase RFC 1123 ${rule === SUBDOMAIN ? 'subdomain' : 'label'} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character` }]);
  }
}

/** The part of an object whose change bumps metadata.generation. */
export function specPart(def: ResourceDef, obj: KubeJson): KubeJson {
  const { metadata: _m, apiVersion: _a, kind: _k, status, ...rest } = obj;
  return def.status || status === undefined ? rest : { ...rest, status };
}

export function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isObject(v)) return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
}

let nextClusterIp = 10;

/** Defaults of the built-in types' strategies that clients can see. */
export function applyDefaults(def: ResourceDef, obj: KubeJson, old: KubeJson | undefined): void {
  if (def.group !== '') return;
  if (def.plural === 'namespaces') {
    obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
    obj.spec = { finalizers: ['kubernetes'], ...(obj.spec ?? {}) };
    if (!old) obj.status = { phase: 'Active' };
  } else if (def.plural === 'secrets') {
    obj.type ??= old?.type ?? 'Opaque';
    if (old && old.type !== obj.type) throw errors.invalid(def, obj.metadata.name, [{ field: 'type', message: `Invalid value: ${JSON.stringify(obj.type)}: field is immutable` }]);
    if (isObject(obj.stringData)) {
      obj.data = { ...(obj.data ?? {}) };
      for (const [k, v] of Object.entries(obj.stringData)) obj.data[k] = Buffer.from(String(v)).toString('base64');
      delete obj.stringData;
    }
  } else if (def.plural === 'services') {
    const spec = (obj.spec = { ...(obj.spec ?? {}) });
    spec.type ??= 'ClusterIP';
    spec.sessionAffinity ??= 'None';
    if (spec.type !== 'ExternalName') {
      // Allocated values survive an update that omits them, as the Service REST storage does.
      spec.clusterIP ??= old?.spec?.clusterIP ?? `10.96.${Math.floor(nextClusterIp / 250)}.${(nextClusterIp++ % 250) + 1}`;
      spec.clusterIPs ??= [spec.clusterIP];
      spec.ipFamilies ??= ['IPv4'];
      spec.ipFamilyPolicy ??= 'SingleStack';
      spec.internalTrafficPolicy ??= 'Cluster';
    }
    spec.ports = (spec.ports ?? []).map((p: KubeJson) => ({ protocol: 'TCP', targetPort: p.port, ...p }));
    if (!old) obj.status = { loadBalancer: {} };
  }
}

/** A `managedFields` entry like the server's field manager records (the field set is simplified). */
export function recordManager(obj: KubeJson, old: KubeJson | undefined, manager: string, subresource: string | undefined): void {
  const entries: KubeJson[] = (old?.metadata?.managedFields ?? []).filter((e: KubeJson) => !(e.manager === manager && e.operation === 'Update' && e.subresource === subresource));
  const source = subresource === 'status' ? { status: obj.status } : { ...obj, status: undefined, metadata: { labels: obj.metadata.labels, annotations: obj.metadata.annotations } };
  const entry: KubeJson = { manager, operation: 'Update', apiVersion: obj.apiVersion, time: now(), fieldsType: 'FieldsV1', fieldsV1: fieldSet(source) };
  if (subresource) entry.subresource = subresource;
  obj.metadata.managedFields = [...entries, entry];
}

function fieldSet(v: unknown): KubeJson {
  if (!isObject(v)) return {};
  const out: KubeJson = {};
  for (const [k, x] of Object.entries(v)) {
    if (x === undefined || k === 'apiVersion' || k === 'kind') continue;
    out[`f:${k}`] = isObject(x) ? fieldSet(x) : {};
  }
  return out;
}

/** Server-owned metadata of a new object. */
export function stampNew(def: ResourceDef, obj: KubeJson): void {
  const meta = obj.metadata;
  if (meta.resourceVersion) throw new StatusError(500, 'InternalError', 'resourceVersion should not be set on objects to be created');
  meta.uid = randomUUID();
  meta.creationTimestamp = now();
  meta.generation = 1;
  delete meta.deletionTimestamp;
  delete meta.deletionGracePeriodSeconds;
  delete meta.selfLink;
  if (def.status && def.crd) delete obj.status;
}

/** Carry what a client cannot change on update from the stored object. */
export function keepServerFields(def: ResourceDef, obj: KubeJson, old: KubeJson): void {
  const meta = obj.metadata;
  for (const f of ['uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'deletionGracePeriodSeconds']) {
    if (old.metadata[f] === undefined) delete meta[f];
    else meta[f] = old.metadata[f];
  }
  delete meta.selfLink;
  if (def.status) {
    if (old.status === undefined) delete obj.status;
    else obj.status = old.status;
  }
}

/** For a write to `/status`: everything but `.status` comes from the stored object. */
export function statusOnly(obj: KubeJson, old: KubeJson): KubeJson {
  const next = structuredClone(old);
  if (obj.status === undefined) delete next.status;
  else next.status = obj.status;
  next.metadata.resourceVersion = obj.metadata.resourceVersion;
  return next;
}
