// Parse one manifest file (YAML or JSON, one or many documents, `kind: List` expanded) into
// Kubernetes objects. Every problem names the file, the line, the object and the field.
import { LineCounter, parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../api/index.ts';

export interface ManifestError {
  readonly file: string;
  readonly line?: number;
  readonly object?: string;
  readonly message: string;
}

export interface ParsedManifests {
  readonly objects: KubeObject[];
  /** Problems with single objects: those objects are skipped, the rest of the file is used. */
  readonly objectErrors: ManifestError[];
  /** The file as a whole could not be parsed: none of it is used. */
  readonly fileError?: ManifestError;
}

const CLUSTER_SCOPED = new Set(['Namespace', 'GatewayClass']);

export function parseManifests(file: string, text: string): ParsedManifests {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  const objects: KubeObject[] = [];
  const objectErrors: ManifestError[] = [];
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const line = lines.linePos(err.pos[0]).line;
      return { objects: [], objectErrors: [], fileError: { file, line, message: firstLine(err.message) } };
    }
    const line = doc.contents ? lines.linePos(doc.contents.range[0]).line : undefined;
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    for (const item of expandList(value)) {
      const checked = checkObject(item);
      if (typeof checked === 'string') objectErrors.push({ file, line, object: describe(item), message: checked });
      else objects.push(checked);
    }
  }
  return { objects, objectErrors };
}

function expandList(value: unknown): unknown[] {
  if (isRecord(value) && value.kind === 'List' && Array.isArray(value.items)) return value.items;
  return [value];
}

/** The object with its namespace defaulted, or a message naming the missing field. */
function checkObject(value: unknown): KubeObject | string {
  if (!isRecord(value)) return 'a manifest must be a mapping with apiVersion, kind and metadata';
  if (typeof value.apiVersion !== 'string' || value.apiVersion === '') return 'field apiVersion: required string';
  if (typeof value.kind !== 'string' || value.kind === '') return 'field kind: required string';
  const meta = value.metadata;
  if (!isRecord(meta)) return 'field metadata: required mapping';
  if (typeof meta.name !== 'string' || meta.name === '') return 'field metadata.name: required string';
  if (meta.namespace !== undefined && typeof meta.namespace !== 'string') return 'field metadata.namespace: must be a string';
  if (!CLUSTER_SCOPED.has(value.kind) && !meta.namespace) {
    return { ...value, metadata: { ...meta, namespace: 'default' } } as unknown as KubeObject;
  }
  return value as unknown as KubeObject;
}

function describe(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const meta = isRecord(value.metadata) ? value.metadata : {};
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return `${String(value.kind ?? '?')} ${ns}${String(meta.name ?? '?')}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}
