/**
 * The allowed arrows between the parts (docs/architecture.md), checked on the sources. This is an
 * allow-list: an import is fine only when a rule below allows it, or when it is one of the named
 * exceptions, each with its reason. An exception that no import needs any more fails the test, so
 * the list only shrinks.
 *
 * - Parts: the root files `src/*.ts` (shared vocabulary: errors, log, clock, identity, ...),
 *   `cli`, `agent`, `server`, `attestor`, `issuer`. cli → agent → attestor and issuer; cli →
 *   server (the central issuer) → attestor and issuer; agent and server never import each other;
 *   everything → root.
 * - Another part is reached only through its entry (`index.ts`, re-exports only); the Kubernetes
 *   part of the attestor has an entry of its own that only a dynamic `import()` reaches, so other
 *   modes never load the Kubernetes client.
 * - Tests: a unit test beside the code belongs to its part (plus the test support code); tests
 *   under `test/` and `bench/` reach parts through their entries (the dynamic one too), and `cli`
 *   files directly.
 * - No import cycles; `{@link}`s name something that exists.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const PARTS = ['cli', 'agent', 'server', 'attestor', 'issuer'] as const;
type Part = (typeof PARTS)[number] | 'root';

/** Which parts each part may import (besides itself). */
const ALLOWED: Record<Part, readonly Part[]> = {
  root: [],
  cli: ['agent', 'server', 'root'],
  agent: ['attestor', 'issuer', 'root'],
  server: ['attestor', 'issuer', 'root'],
  attestor: ['root'],
  issuer: ['root'],
};

/** The files another part may import; `dynamic` entries only through `import()` (or `import type`). */
const ENTRIES: Record<string, 'static' | 'dynamic'> = {
  'src/agent/index.ts': 'static',
  'src/attestor/index.ts': 'static',
  'src/attestor/kubernetes.ts': 'dynamic',
  'src/issuer/index.ts': 'static',
  'src/server/index.ts': 'static',
};

/** Imports no rule allows, each with the reason it is still there. */
const EXCEPTIONS: ReadonlyArray<{ readonly from: string; readonly to: string; readonly why: string }> = [
  {
    from: 'src/cli/credential-files.ts',
    to: 'src/issuer/index.ts',
    why: '`certs create` and `run --dev` create credentials with the issuer’s CA functions',
  },
  { from: 'bench/issuance.ts', to: 'src/issuer/der.ts', why: 'the benchmark times the issuer’s parts one by one' },
  { from: 'bench/issuance.ts', to: 'src/issuer/serial.ts', why: 'the benchmark times the issuer’s parts one by one' },
  { from: 'bench/issuance.ts', to: 'src/issuer/ec-keys.ts', why: 'the benchmark times the issuer’s parts one by one' },
];

/** Modules that must not load the Kubernetes client, even indirectly (unix and dev mode, CLI clients). */
const NO_KUBE_CLIENT = ['src/agent/index.ts', 'src/attestor/index.ts', 'src/server/index.ts', 'src/cli/program.ts'];
/** Of those, the ones that still load it (shrinks to nothing). */
const KUBE_CLIENT_EXCEPTIONS = new Set<string>([]);
/** CLI modules that must load no agent, attestor or issuer code: the client commands. */
const CLIENT_COMMANDS = [
  'src/cli/program.ts',
  'src/cli/fetch-x509.ts',
  'src/cli/fetch-jwt.ts',
  'src/cli/validate-jwt.ts',
  'src/cli/watch.ts',
  'src/cli/healthcheck.ts',
];
const KUBE_CLIENT = '@kubernetes/client-node';

interface Import {
  /** Repository-relative `.ts` path, or the package name for a bare specifier. */
  readonly target: string;
  /** `import type` / `export type`: erased, loads nothing. */
  readonly typeOnly: boolean;
  readonly dynamic: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(path);
    return d.name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: Import[] = [];
  const add = (spec: string, typeOnly: boolean, dynamic: boolean) => {
    const target = spec.startsWith('.')
      ? relative(ROOT, resolve(ROOT, dirname(file), spec.replace(/\.js$/, '.ts')))
      : spec
          .split('/')
          .slice(0, spec.startsWith('@') ? 2 : 1)
          .join('/');
    found.push({ target, typeOnly, dynamic });
  };
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/g)) add(m[2] as string, !!m[1], false);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+'([^']+)'/g)) add(m[1] as string, false, false);
  for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) add(m[1] as string, false, true);
  return found;
}

const files = [...sourceFiles('src'), ...sourceFiles('test'), ...sourceFiles('bench')];
const graph = new Map(files.map((f) => [f, importsOf(f)]));
const isTest = (file: string) => file.endsWith('.test.ts') || file.startsWith('test/') || file.startsWith('bench/');

function partOf(file: string): Part | undefined {
  const parts = file.split('/');
  if (parts[0] !== 'src') return undefined;
  if (parts.length === 2) return 'root';
  return (PARTS as readonly string[]).includes(parts[1] as string) ? (parts[1] as Part) : undefined;
}

/**
 * Test code that feeds the issuer's and attestor's parsers directly, so reaches past their
 * entries: the fuzzers (`npm run fuzz`) and the CSR variants built with the issuer's own encoder.
 */
const PARSER_HARNESSES = ['test/fuzz/', 'test/support/csr-variants.ts'];

/** Why `from` may not import `dep`, or `undefined` when a rule allows it. */
function violation(from: string, dep: Import): string | undefined {
  if (!dep.target.endsWith('.ts')) return undefined;
  const to = partOf(dep.target);
  // test/support and test/fakes serve every test, and only tests.
  if (to === undefined) return isTest(from) ? undefined : 'source imports test code';
  if (PARSER_HARNESSES.some((prefix) => from.startsWith(prefix))) return undefined;
  const own = partOf(from);
  if (own === to) return undefined;
  if (to === 'cli') return from.startsWith('test/') ? undefined : 'only tests under test/ drive cli files';
  const entry = ENTRIES[dep.target];
  if (to !== 'root' && !entry) return `${to} is reached only through its entry`;
  if (entry === 'dynamic' && !dep.dynamic && !dep.typeOnly && !isTest(from)) return `${dep.target} is reached only through import()`;
  if (own === undefined || to === 'root') return undefined;
  return ALLOWED[own].includes(to) ? undefined : `${own} must not import ${to}`;
}

test('every import follows an arrow of the allow-list, or is a named exception', () => {
  const problems: string[] = [];
  const used = new Set<string>();
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      const why = violation(file, dep);
      if (why === undefined) continue;
      const key = `${file} -> ${dep.target}`;
      if (EXCEPTIONS.some((e) => `${e.from} -> ${e.to}` === key)) used.add(key);
      else problems.push(`${key}: ${why}`);
    }
  }
  assert.deepEqual(problems, []);
  const stale = EXCEPTIONS.map((e) => `${e.from} -> ${e.to}`).filter((key) => !used.has(key));
  assert.deepEqual(stale, [], 'exceptions no import needs any more: remove them');
});

/** Everything `file` loads when it is imported (runtime imports, not `import()`), itself included. */
function loadedBy(file: string): Set<string> {
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const dep of graph.get(f) ?? []) if (!dep.typeOnly && !dep.dynamic) visit(dep.target);
  };
  visit(file);
  return seen;
}

test('unix and dev mode and the CLI clients never load the Kubernetes client', () => {
  for (const file of NO_KUBE_CLIENT) {
    assert.equal(loadedBy(file).has(KUBE_CLIENT), KUBE_CLIENT_EXCEPTIONS.has(file), `${file} loads ${KUBE_CLIENT}`);
  }
});

test('the CLI client commands load no agent, server, attestor or issuer code', () => {
  for (const file of CLIENT_COMMANDS) {
    const loaded = [...loadedBy(file)].filter((f) => /^src\/(agent|server|attestor|issuer)\//.test(f));
    assert.deepEqual(loaded, [], `${file} loads them`);
  }
});

test('entries hold re-exports only', () => {
  for (const entry of Object.keys(ENTRIES).filter((e) => graph.has(e))) {
    const rest = readFileSync(join(ROOT, entry), 'utf8')
      .replace(/\/\*\*[\s\S]*?\*\//g, '')
      .replace(/export (type )?\{[^}]*\} from '[^']+';/gs, '')
      .trim();
    assert.equal(rest, '', `${entry} has more than re-exports`);
  }
});

test('no import cycles', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].join(' → '));
      return;
    }
    state.set(file, 'visiting');
    for (const dep of graph.get(file) ?? []) if (dep.target.endsWith('.ts')) visit(dep.target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  assert.deepEqual(cycles, []);
});

test('every {@link} names something declared or imported in its file', () => {
  const broken: string[] = [];
  for (const file of files) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/\{@link\s+([A-Za-z_$][\w$]*)[^}]*\}/g)) {
      const name = m[1] as string;
      const declared = new RegExp(
        `(?:function\\*?|const|let|var|class|interface|type|enum)\\s+${name}\\b|import[^;]*\\b${name}\\b[^;]*from|^\\s*(?:readonly\\s+)?${name}\\??\\s*[:(]`,
        'm',
      );
      if (!declared.test(text)) broken.push(`${file}: ${m[0]}`);
    }
  }
  assert.deepEqual(broken, []);
});

/** The files that may use `generateKeyPairSync` outside comments: see `src/issuer/keygen.ts`. */
const KEYGEN_CALLERS: Record<string, string> = {
  'src/issuer/keygen.ts': 'makes every key pair that is used as a `KeyObject`',
  'bench/issuance.ts': 'times key generation itself',
};

test('keys come from newKeyPair, never straight from generateKeyPairSync (Node 20 deadlock)', () => {
  const callers = files.filter((file) => /^(?!\s*(?:\*|\/\/|\/\*)).*\bgenerateKeyPairSync\b/m.test(readFileSync(join(ROOT, file), 'utf8')));
  const unexpected = callers.filter((file) => !(file in KEYGEN_CALLERS) && file !== 'test/architecture.test.ts');
  assert.deepEqual(unexpected, []);
  assert.deepEqual(
    Object.keys(KEYGEN_CALLERS).filter((file) => !callers.includes(file)),
    [],
    'an allowed caller that no longer calls it leaves the list',
  );
});
