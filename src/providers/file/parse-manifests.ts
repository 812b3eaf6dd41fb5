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
  /** What each document's text parsed to, for the next parse of the same file. */
  readonly documents: DocumentCache;
}

/** Parse results by document text; lines are relative to the document's first line. */
export type DocumentCache = ReadonlyMap<string, DocumentParse>;

interface DocumentParse {
  readonly objects: readonly KubeObject[];
  readonly objectErrors: readonly ManifestError[];
  readonly fileError?: ManifestError;
}

const CLUSTER_SCOPED = new Set(['Namespace', 'GatewayClass']);

/**
 * Parses `text`; documents whose text is unchanged since `previous` (the last parse of this
 * file) are not parsed again and keep their objects, so editing one object of a large file
 * costs one document's parse.
 */
export function parseManifests(file: string, text: string, previous?: DocumentCache): ParsedManifests {
  const documents = new Map<string, DocumentParse>();
  const objects: KubeObject[] = [];
  const objectErrors: ManifestError[] = [];
  for (const doc of splitDocuments(text)) {
    const parsed = documents.get(doc.text) ?? previous?.get(doc.text) ?? parseDocuments(file, doc.text);
    documents.set(doc.text, parsed);
    const at = (e: ManifestError): ManifestError => (e.line === undefined ? e : { ...e, line: e.line + doc.line - 1 });
    if (parsed.fileError) return { objects: [], objectErrors: [], fileError: at(parsed.fileError), documents };
    objects.push(...parsed.objects);
    objectErrors.push(...parsed.objectErrors.map(at));
  }
  return { objects, objectErrors, documents };
}

// A line starting with `---` and then a space or its end is always a document start: YAML
// forbids it inside content (c-forbidden). With directives (`%YAML`, `%TAG`), which belong to
// the document after them, the text is parsed as one piece.
const DOCUMENT_START = /^---(?=\s|$)/gm;

/** The text split before each document start marker, with each piece's first line (1-based). */
function splitDocuments(text: string): { text: string; line: number }[] {
  if (/^%/m.test(text)) return [{ text, line: 1 }];
  const starts = [0];
  for (const m of text.matchAll(DOCUMENT_START)) if (m.index > 0) starts.push(m.index);
  const out: { text: string; line: number }[] = [];
  let line = 1;
  for (let i = 0; i < starts.length; i++) {
    const piece = text.slice(starts[i], starts[i + 1] ?? text.length);
    out.push({ text: piece, line });
    line += countLines(piece);
  }
  return out;
}

function countLines(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function parseDocuments(file: string, text: string): DocumentParse {
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
