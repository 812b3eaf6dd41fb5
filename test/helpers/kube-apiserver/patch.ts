// The three patch types the server accepts: JSON merge patch (RFC 7386), JSON patch
// (RFC 6902) and strategic merge patch for built-in types (lists merged by the merge keys of
// the Go types for the fields these tests touch; other lists are replaced, as for atomic lists).
import { StatusError, errors } from './errors.ts';
import type { KubeJson } from './resources.ts';

const isObject = (v: unknown): v is KubeJson => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);

export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: KubeJson = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw errors.badRequest(`json patch path must start with '/': ${path}`);
  return path.slice(1).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: unknown, parts: string[], path: string): { parent: any; key: string } {
  let cur: any = doc;
  for (const p of parts.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(p)] : isObject(cur) ? cur[p] : undefined;
    if (cur === undefined) throw invalidPatch(`doc is missing path: "${path}": missing value`);
  }
  return { parent: cur, key: parts[parts.length - 1] };
}

function invalidPatch(message: string): StatusError {
  return new StatusError(422, 'Invalid', message);
}

function getAt(doc: unknown, path: string): unknown {
  let cur: any = doc;
  for (const p of pointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(p)] : isObject(cur) ? cur[p] : undefined;
    if (cur === undefined) throw invalidPatch(`doc is missing path: "${path}": missing value`);
  }
  return cur;
}

function removeAt(doc: any, path: string): unknown {
  const parts = pointer(path);
  const { parent, key } = parentOf(doc, parts, path);
  if (Array.isArray(parent)) {
    const i = Number(key);
    if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw invalidPatch(`Unable to remove nonexistent key: ${key}: missing value`);
    return parent.splice(i, 1)[0];
  }
  if (!isObject(parent) || !Object.hasOwn(parent, key)) throw invalidPatch(`Unable to remove nonexistent key: ${key}: missing value`);
  const v = parent[key];
  delete parent[key];
  return v;
}

function addAt(doc: any, path: string, value: unknown, replace: boolean): any {
  const parts = pointer(path);
  if (parts.length === 0) return clone(value);
  const { parent, key } = parentOf(doc, parts, path);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (!Number.isInteger(i) || i < 0 || i > parent.length || (replace && i === parent.length)) throw invalidPatch(`Unable to access invalid index: ${key}: invalid index error`);
    if (replace) parent[i] = clone(value);
    else parent.splice(i, 0, clone(value));
  } else if (isObject(parent)) {
    if (replace && !Object.hasOwn(parent, key)) throw invalidPatch(`replace operation does not apply: doc is missing key: ${path}: missing value`);
    parent[key] = clone(value);
  } else throw invalidPatch(`doc is missing path: "${path}": missing value`);
  return doc;
}

export function jsonPatch(target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw errors.badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let doc: any = clone(target);
  for (const op of ops) {
    if (!isObject(op) || typeof op.path !== 'string') throw errors.badRequest('json patch operation needs op and path');
    switch (op.op) {
      case 'add': doc = addAt(doc, op.path, op.value, false); break;
      case 'replace': doc = addAt(doc, op.path, op.value, true); break;
      case 'remove': removeAt(doc, op.path); break;
      case 'move': { const v = removeAt(doc, op.from); doc = addAt(doc, op.path, v, false); break; }
      case 'copy': doc = addAt(doc, op.path, getAt(doc, op.from), false); break;
      case 'test':
        if (JSON.stringify(getAt(doc, op.path)) !== JSON.stringify(op.value)) throw invalidPatch(`testing value ${op.path} failed: test failed`);
        break;
      default: throw errors.badRequest(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return doc;
}

/** Merge keys of the Go types (`patchMergeKey`), by field path without list indexes. */
const MERGE_KEYS: Record<string, string> = {
  'metadata.ownerReferences': 'uid',
  'spec.ports': 'port',
  'status.conditions': 'type',
  'spec.containers': 'name',
};
/** Primitive lists with `patchStrategy:"merge"`: the patch's values are added. */
const MERGE_PRIMITIVES = new Set(['metadata.finalizers']);

export function strategicMergePatch(target: unknown, patch: unknown, path = ''): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'delete') return undefined;
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return clone(rest);
  }
  const out: KubeJson = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[field]) && Array.isArray(v)) out[field] = out[field].filter((x: unknown) => !v.includes(x));
      continue;
    }
    const childPath = path ? `${path}.${k}` : k;
    if (v === null) delete out[k];
    else if (Array.isArray(v)) out[k] = mergeList(out[k], v, childPath);
    else if (isObject(v)) {
      const merged = strategicMergePatch(out[k], v, childPath);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    } else out[k] = v;
  }
  return out;
}

function mergeList(current: unknown, patch: unknown[], path: string): unknown[] {
  const cur = Array.isArray(current) ? current : [];
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) return clone(patch.filter((p) => !(isObject(p) && p.$patch === 'replace')));
  if (MERGE_PRIMITIVES.has(path)) return [...cur, ...patch.filter((p) => !cur.includes(p))];
  const key = MERGE_KEYS[path];
  if (!key) return clone(patch);
  const out = cur.map((x) => clone(x));
  for (const item of patch) {
    if (!isObject(item)) continue;
    const i = out.findIndex((x) => isObject(x) && x[key] === item[key]);
    if (item.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
    } else if (i >= 0) out[i] = strategicMergePatch(out[i], item, path);
    else out.push(strategicMergePatch({}, item, path));
  }
  return out;
}
