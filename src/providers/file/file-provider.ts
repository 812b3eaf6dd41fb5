// The file provider: keeps the store's "file" source equal to the manifests on disk.
// A file that fails to parse keeps its last good objects; other files are unaffected.
import { readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import type { KubeObject } from '../../api/index.ts';
import type { Store } from '../../resources/index.ts';
import { supportedKind } from '../../resources/index.ts';
import type { Logger } from '../../observability/index.ts';
import { ObjectIdentity } from './object-identity.ts';
import { parseManifests, type DocumentCache, type ManifestError, type ParsedManifests } from './parse-manifests.ts';

/** A file parsed, and what the provider held for it before. */
interface ParsedFile {
  readonly parsed: ParsedManifests;
  readonly previous: { readonly objects: readonly KubeObject[] } | undefined;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
export const FILE_SOURCE = 'file';

export interface FileProviderOptions {
  readonly paths: readonly string[];
  readonly store: Store;
  readonly logger: Logger;
  /**
   * Quiet time after the last file event before files are re-read (default 2 ms): it only
   * gathers the events of one save; the settle time below is what guards against half-written files.
   */
  readonly debounceMs?: number;
  /** How long a file must stay unchanged after it is read for the read to count. */
  readonly settleMs?: number;
}

interface FileState {
  objects: readonly KubeObject[];
  errors: readonly ManifestError[];
  /** The last parse of each document, so an edit re-parses only the documents it changed. */
  documents?: DocumentCache;
}

export class FileProvider {
  readonly #opts: FileProviderOptions;
  readonly #files = new Map<string, FileState>();
  readonly #identity = new ObjectIdentity();
  readonly #dirty = new Set<string>();
  /** Events seen per file: a read that raced with a newer write is dropped, not published. */
  readonly #events = new Map<string, number>();
  readonly #watchedDirs = new Map<string, FSWatcher>();
  #rescan = false;
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> = Promise.resolve();

  constructor(options: FileProviderOptions) {
    this.#opts = options;
  }

  /** Read every manifest, fill the store, then watch for changes. */
  async start(): Promise<void> {
    for (const file of await listManifestFiles(this.#opts.paths)) await this.#readFile(file);
    this.#publish();
    for (const path of this.#opts.paths) this.#watch(resolve(path));
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    for (const w of this.#watchedDirs.values()) w.close();
    this.#watchedDirs.clear();
    await this.#reading;
  }

  // One non-recursive node:fs watch per directory, not a watcher library (chokidar 4 drops
  // the last of quick successive writes) and not `recursive: true` (on Linux it stops seeing a
  // file after the first rename over it). Every event counts, so the last write is served.
  #watch(path: string): void {
    const isDir = statSync(path).isDirectory();
    if (!isDir) return this.#watchDir(dirname(path), (file) => file === path);
    this.#watchDir(path, () => true);
    for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
      if (entry.isDirectory()) this.#watchDir(join(entry.parentPath, entry.name), () => true);
    }
  }

  #watchDir(dir: string, wanted: (file: string) => boolean): void {
    if (this.#watchedDirs.has(dir)) return;
    let watcher: FSWatcher;
    try {
      watcher = watch(dir, { persistent: true }, (_event, name) => {
        if (name === null) return this.#markRescan();
        const file = join(dir, name.toString());
        if (!wanted(file)) return;
        if (statSync(file, { throwIfNoEntry: false })?.isDirectory()) {
          this.#watch(file);
          return this.#markRescan();
        }
        this.#markDirty(file);
      });
    } catch (err) {
      this.#opts.logger.error({ err, dir }, 'file watch error');
      return;
    }
    watcher.on('error', (err) => {
      this.#opts.logger.warn({ err, dir }, 'file watch ended');
      this.#watchedDirs.delete(dir);
      this.#markRescan();
    });
    this.#watchedDirs.set(dir, watcher);
  }

  #markRescan(): void {
    this.#rescan = true;
    this.#schedule();
  }

  /** Current problems, one per object or file, for the admin API and logs. */
  errors(): ManifestError[] {
    return [...this.#files.values()].flatMap((f) => f.errors);
  }

  #markDirty(file: string): void {
    if (!MANIFEST_EXTENSIONS.has(extname(file))) return;
    this.#dirty.add(file);
    this.#events.set(file, (this.#events.get(file) ?? 0) + 1);
    this.#schedule();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#reading = this.#reading.then(() => this.#reload()).catch((err) => this.#opts.logger.error({ err }, 'manifest reload failed'));
    }, this.#opts.debounceMs ?? 2);
  }

  async #reload(): Promise<void> {
    const files = [...this.#dirty];
    this.#dirty.clear();
    if (this.#rescan) {
      this.#rescan = false;
      const present = new Set(await listManifestFiles(this.#opts.paths));
      for (const known of this.#files.keys()) if (!present.has(known)) files.push(known);
      files.push(...present);
    }
    await Promise.all(files.map((file) => this.#readFile(file, true)));
    this.#publish();
  }

  async #readFile(file: string, settle = false): Promise<void> {
    let parsed: ParsedFile;
    const eventsBefore = this.#events.get(file);
    try {
      const before = await stat(file);
      const text = await readFile(file, 'utf8');
      // A writer that truncates and then writes can be caught in between (open(O_TRUNC) raises
      // no watch event of its own). Only a read the file still matches a moment later counts;
      // otherwise it is read again. The file is parsed while that moment passes.
      if (!settle) return this.#commit(file, this.#parse(file, text));
      // A file that went empty is most often a writer between truncation and write: give
      // it longer before believing it.
      const emptied = text.trim() === '' && (this.#files.get(file)?.objects.length ?? 0) > 0;
      const settledAt = performance.now() + (this.#opts.settleMs ?? 10) * (emptied ? 20 : 1);
      parsed = this.#parse(file, text);
      const left = settledAt - performance.now();
      if (left > 0) await new Promise((r) => setTimeout(r, left));
      const after = await stat(file);
      if (this.#events.get(file) !== eventsBefore || after.mtimeMs !== before.mtimeMs || after.size !== Buffer.byteLength(text)) {
        this.#markDirty(file);
        return;
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#files.delete(file);
        this.#opts.logger.info({ file }, 'manifest file removed');
        return;
      }
      throw err;
    }
    this.#commit(file, parsed);
  }

  #parse(file: string, text: string): ParsedFile {
    return { parsed: parseManifests(file, text, this.#files.get(file)?.documents), previous: this.#files.get(file) };
  }

  /** The file's objects as read, or its last good ones (and the error) when it did not parse. */
  #commit(file: string, { parsed, previous }: ParsedFile): void {
    if (parsed.fileError) {
      const e = parsed.fileError;
      this.#opts.logger.error({ file: e.file, line: e.line }, `CFG_ERR_PARSE ${e.file}:${e.line}: ${e.message}; keeping the file's last good objects`);
      this.#files.set(file, { objects: previous?.objects ?? [], errors: [e], documents: parsed.documents });
      return;
    }
    for (const e of parsed.objectErrors) {
      this.#opts.logger.error({ file: e.file, line: e.line }, `CFG_ERR_OBJECT ${e.file}:${e.line} ${e.object ?? ''}: ${e.message}`);
    }
    for (const obj of parsed.objects) {
      if (!supportedKind(obj.apiVersion, obj.kind)) this.#opts.logger.debug({ file, kind: obj.kind, apiVersion: obj.apiVersion }, 'ignoring unsupported kind');
    }
    this.#files.set(file, { objects: parsed.objects, errors: parsed.objectErrors, documents: parsed.documents });
  }

  #publish(): void {
    const files = [...this.#files.keys()].sort();
    const all = files.flatMap((f) => this.#files.get(f)!.objects);
    this.#opts.store.replace(FILE_SOURCE, this.#identity.stamp(all));
  }
}

/** Every manifest file under the given files and directories (recursively), sorted. */
export async function listManifestFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const abs = resolve(p);
    const info = await stat(abs).catch(() => undefined);
    if (!info) throw new Error(`CFG_ERR_PATH --manifests ${p}: no such file or directory`);
    if (info.isFile()) out.push(abs);
    else {
      for (const entry of await readdir(abs, { recursive: true, withFileTypes: true })) {
        if (entry.isFile() && MANIFEST_EXTENSIONS.has(extname(entry.name))) out.push(join(entry.parentPath, entry.name));
      }
    }
  }
  return [...new Set(out)].sort();
}

/** Read manifests once, for offline commands: objects and every problem found. */
export async function loadManifests(paths: readonly string[]): Promise<{ objects: KubeObject[]; errors: ManifestError[] }> {
  const objects: KubeObject[] = [];
  const errors: ManifestError[] = [];
  for (const file of await listManifestFiles(paths)) {
    const parsed = parseManifests(file, await readFile(file, 'utf8'));
    if (parsed.fileError) errors.push(parsed.fileError);
    errors.push(...parsed.objectErrors);
    objects.push(...parsed.objects);
  }
  return { objects: new ObjectIdentity(() => new Date(0)).stamp(objects), errors };
}
