// Offline validation of manifests, close to what the API server does with strict field
// validation (`kubectl apply --validate=strict`):
// - built-in kinds: Kubernetes' OpenAPI schemas as compiled by kubernetes-models (types,
//   required fields, formats), plus unknown-field detection from the model tables of
//   @kubernetes/client-node (both generated from the Kubernetes OpenAPI document);
// - custom resources: the CRD's openAPIV3Schema, run by ajv, with unknown fields rejected as a
//   structural schema would prune them.
// Not checked: the API server's own validation code (e.g. name formats, selector matching its
// template) and CEL rules (x-kubernetes-validations).
import * as k8s from '@kubernetes/client-node';
import { Ajv, type ValidateFunction } from 'ajv';
import { isIPv4, isIPv6 } from 'node:net';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [key: string]: unknown };

type Model = new (data: unknown) => { validate(): void };
type AttributeType = { baseName: string; type: string };
type ModelClass = { getAttributeTypeMap?: () => AttributeType[] };

/** Errors of a built-in kind (empty when valid), in the API server's field-path style. */
export async function validateBuiltin(obj: KubeObject): Promise<string[]> {
  const errors: string[] = [];
  const module = (await import(`kubernetes-models/${obj.apiVersion}`)) as Record<string, Model | undefined>;
  const model = module[obj.kind];
  if (!model) return [`no schema for ${obj.apiVersion} ${obj.kind}`];
  try {
    new model(obj).validate();
  } catch (err) {
    errors.push(...(err as Error).message.split('\n'));
  }
  const className = `${obj.apiVersion.split('/').pop()!.replace(/^v/, 'V')}${obj.kind}`;
  checkFields(obj, className, '', errors);
  return errors;
}

/**
 * Unknown fields, and objects where scalars belong (or the reverse), walking the client-node
 * model tables. Scalar types are left to the schemas: a quantity is a string in the tables but
 * int-or-string on the server.
 */
export function checkFields(value: unknown, type: string, path: string, errors: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return void errors.push(`${path}: expected a list`);
    value.forEach((item, i) => checkFields(item, array[1], `${path}[${i}]`, errors));
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (!isPlainObject(value)) return void errors.push(`${path}: expected a map`);
    for (const [key, item] of Object.entries(value)) checkFields(item, map[1], `${path}.${key}`, errors);
    return;
  }
  if (['string', 'number', 'boolean', 'Date', 'IntOrString'].includes(type)) {
    if (typeof value === 'object') errors.push(`${path}: expected a ${type === 'IntOrString' ? 'number or string' : type}`);
    return;
  }
  const model = (k8s as unknown as Record<string, ModelClass | undefined>)[type];
  const attributes = model?.getAttributeTypeMap?.();
  if (!attributes) return; // 'any', 'object' and kinds the tables leave open
  if (!isPlainObject(value)) return void errors.push(`${path}: expected an object`);
  for (const [key, item] of Object.entries(value)) {
    const attribute = attributes.find((a) => a.baseName === key);
    const field = path ? `${path}.${key}` : key;
    if (!attribute) errors.push(`unknown field "${field}"`);
    else checkFields(item, attribute.type, field, errors);
  }
}

const crdValidators = new Map<string, ValidateFunction>();

/** Errors of a custom resource against the CRD in `crdFile` (empty when valid). */
export function validateCustomResource(obj: KubeObject, crdFile: string): string[] {
  const key = `${crdFile}#${obj.apiVersion}`;
  let validate = crdValidators.get(key);
  if (!validate) {
    validate = compileCrd(crdFile, obj.apiVersion, obj.kind);
    crdValidators.set(key, validate);
  }
  const errors: string[] = [];
  if (!validate(obj)) {
    for (const e of validate.errors ?? []) {
      const where = e.instancePath.replace(/^\//, '').replaceAll('/', '.');
      errors.push(e.keyword === 'additionalProperties'
        ? `unknown field "${where ? `${where}.` : ''}${String(e.params.additionalProperty)}"`
        : `${where || '(root)'}: ${e.message}`);
    }
  }
  checkFields(obj.metadata, 'V1ObjectMeta', 'metadata', errors);
  return errors;
}

function compileCrd(crdFile: string, apiVersion: string, kind: string): ValidateFunction {
  const crd = parse(readFileSync(crdFile, 'utf8')) as {
    spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema: { openAPIV3Schema: unknown } }[] };
  };
  const [group, version] = apiVersion.split('/');
  if (crd.spec.group !== group || crd.spec.names.kind !== kind) throw new Error(`${crdFile} does not define ${apiVersion} ${kind}`);
  const served = crd.spec.versions.find((v) => v.name === version && v.served);
  if (!served) throw new Error(`${crdFile}: version ${version} is not served`);
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addFormat('date-time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i);
  ajv.addFormat('ipv4', (s: string) => isIPv4(s));
  ajv.addFormat('ipv6', (s: string) => isIPv6(s));
  return ajv.compile(structural(served.schema.openAPIV3Schema) as object);
}

/** The schema with unknown fields rejected wherever the API server would prune them. */
function structural(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(structural);
  if (!isPlainObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = key === 'enum' || key === 'default' ? value : structural(value);
  if (out.properties && out.additionalProperties === undefined && !out['x-kubernetes-preserve-unknown-fields']) out.additionalProperties = false;
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
