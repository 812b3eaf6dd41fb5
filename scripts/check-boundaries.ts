// Checks the room boundaries of docs/architecture.md: which room may import which, which
// packages each room may use, and that rooms are entered through their index.ts only.
// Exits 1 naming the rule a change breaks.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
export const SRC = join(ROOT, 'src');

interface Rule {
  /** Rooms this room may import. */
  readonly rooms: readonly string[];
  /** npm packages this room may import. */
  readonly packages: readonly string[];
  /** Whether node: built-ins are allowed ('all'), forbidden ('none'), or limited to a list. */
  readonly node: 'all' | 'none' | readonly string[];
}

const PURE_NODE = ['node:crypto'];
const RULES: Record<string, Rule> = {
  util: { rooms: [], packages: [], node: PURE_NODE },
  api: { rooms: ['util'], packages: [], node: 'none' },
  ir: { rooms: ['util'], packages: [], node: 'none' },
  translator: { rooms: ['api', 'ir', 'util'], packages: [], node: 'none' },
  compiler: { rooms: ['ir', 'util'], packages: [], node: 'none' },
  resources: { rooms: ['api', 'util'], packages: [], node: 'none' },
  providers: { rooms: ['api', 'resources', 'util', 'observability'], packages: ['yaml', '@kubernetes/client-node'], node: 'all' },
  controller: { rooms: ['api', 'resources', 'translator', 'ir', 'supervisor', 'util', 'observability'], packages: [], node: ['node:perf_hooks', 'node:timers'] },
  dataplane: { rooms: ['compiler', 'ir', 'util', 'observability'], packages: [], node: 'all' },
  supervisor: { rooms: ['ir', 'util', 'observability'], packages: [], node: 'all' },
  admin: { rooms: ['util', 'observability'], packages: ['prom-client'], node: 'all' },
  observability: { rooms: ['util'], packages: ['pino', 'prom-client'], node: 'all' },
  cli: { rooms: ['main', 'util'], packages: ['commander'], node: 'all' },
  main: { rooms: ['*'], packages: ['*'], node: 'all' },
};

const IMPORT_RE = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

function roomOf(file: string): string {
  const rel = relative(SRC, file).split(sep);
  return rel.length === 1 ? rel[0].replace(/\.ts$/, '') : rel[0];
}

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'testdata') yield* walk(p);
    } else if (e.name.endsWith('.ts')) yield p;
  }
}

/** The broken rule for `file` importing `spec`, or undefined when the import is allowed. */
export function checkImport(file: string, spec: string): string | undefined {
  const room = roomOf(file);
  const rule = RULES[room];
  if (!rule) return `rule "known-room": ${room} is not a room of docs/architecture.md`;
  if (spec.startsWith('node:')) {
    if (rule.node === 'all' || (rule.node !== 'none' && rule.node.includes(spec))) return undefined;
    return `rule "${room}-is-pure": ${room} must not import ${spec}`;
  }
  if (!spec.startsWith('.')) {
    const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
    if (rule.packages.includes('*') || rule.packages.includes(pkg)) return undefined;
    return `rule "${room}-packages": ${room} must not import the package ${pkg}`;
  }
  const target = resolve(dirname(file), spec);
  const targetRoom = roomOf(target);
  if (targetRoom === room) return undefined;
  if (!rule.rooms.includes('*') && !rule.rooms.includes(targetRoom)) {
    return `rule "${room}-not-to-${targetRoom}": ${room} must not import ${targetRoom}`;
  }
  const isIndex = relative(join(SRC, targetRoom), target) === 'index.ts' || target === join(SRC, `${targetRoom}.ts`);
  if (!isIndex) return `rule "enter-through-index": import ${targetRoom} through src/${targetRoom}/index.ts, not ${relative(ROOT, target)}`;
  return undefined;
}

/** Every broken rule under `src/`, one line each. */
export function findViolations(srcDir: string = SRC): string[] {
  const violations: string[] = [];
  for (const file of walk(srcDir)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) {
      const problem = checkImport(file, m[1]);
      if (problem) violations.push(`${relative(ROOT, file)}: ${problem}`);
    }
  }
  return violations;
}

if (import.meta.main) {
  const violations = findViolations();
  if (violations.length > 0) {
    process.stderr.write(`room boundaries broken:\n${violations.map((v) => `  ${v}`).join('\n')}\n`);
    process.exit(1);
  }
  process.stdout.write('room boundaries: ok\n');
}
