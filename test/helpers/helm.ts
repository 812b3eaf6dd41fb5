// A real Helm for tests, with no network and no system install: the official helm binary
// (linux-amd64) that the npm package @aws-cdk/asset-kubectl-v20 ships in lib/layer.zip. It is
// unzipped once into node_modules/.cache and reused.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const ROOT = resolve(import.meta.dirname, '../..');
const PACKAGE_DIR = join(ROOT, 'node_modules/@aws-cdk/asset-kubectl-v20');
const ZIP_ENTRY = 'helm/helm';

export type HelmBinary = { readonly path: string } | { readonly skip: string };

/** The helm binary's path, unzipped on first use, or why it cannot run on this machine. */
export function findHelm(): HelmBinary {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { skip: `the packaged helm binary is linux-amd64; this machine is ${process.platform}-${process.arch}` };
  }
  const zipPath = join(PACKAGE_DIR, 'lib/layer.zip');
  if (!existsSync(zipPath)) return { skip: `${zipPath} is missing: run npm ci` };
  const version = (JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string }).version;
  const dir = join(ROOT, 'node_modules/.cache/waygate-helm', version);
  const path = join(dir, 'helm');
  if (!existsSync(path)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, readZipEntry(readFileSync(zipPath), ZIP_ENTRY));
    chmodSync(tmp, 0o755);
    renameSync(tmp, path);
  }
  return { path };
}

/** Runs helm; throws with helm's stderr when it fails. */
export function runHelm(helm: string, args: readonly string[]): string {
  try {
    return execFileSync(helm, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: helmEnv() });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`helm ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Keeps helm away from the user's own Helm configuration and any cluster. */
function helmEnv(): NodeJS.ProcessEnv {
  const home = join(ROOT, 'node_modules/.cache/waygate-helm/home');
  return {
    PATH: process.env.PATH,
    HOME: home,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
    KUBECONFIG: join(home, 'no-kubeconfig'),
  };
}

/**
 * One stored or deflated entry of a zip archive (no ZIP64, no encryption: enough for layer.zip),
 * found through the central directory as unzip does.
 */
export function readZipEntry(zip: Buffer, name: string): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive: no end of central directory');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central directory entry at ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    if (entryName === name) {
      const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
      const data = zip.subarray(dataStart, dataStart + compressedSize);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`zip entry ${name}: compression method ${method} is not supported`);
    }
    at += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error(`zip entry ${name} not found`);
}
