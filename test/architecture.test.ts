/**
 * The dependency rules of DEVELOPERS.md and STYLE.md, checked on the sources:
 * cli → agent → attestor and issuer; attestor and issuer never import agent or cli; the issuer
 * never imports the attestor; folders talk to each other only through their index.ts; no cycles.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const FOLDERS = ['agent', 'attestor', 'issuer', 'cli'] as const;
const FORBIDDEN: Record<string, readonly string[]> = {
  attestor: ['agent', 'cli'],
  issuer: ['agent', 'attestor', 'cli'],
  agent: ['cli'],
  '': ['agent', 'attestor', 'issuer', 'cli'],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [join(dir, d.name)] : [],
  );
}

/** Relative imports of a file, as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g),
    ...text.matchAll(/import\('(\.[^']+)'\)/g),
  ].map((m) => m[1] as string);
  return specs.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

const folderOf = (file: string): string => relative(SRC, file).split('/').slice(0, -1).join('/');

const files = sources(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('dependencies point one way', () => {
  const problems: string[] = [];
  for (const [file, deps] of graph) {
    const from = folderOf(file);
    for (const dep of deps) {
      const to = folderOf(dep);
      if ((FORBIDDEN[from] ?? []).includes(to)) problems.push(`${relative(SRC, file)} imports ${relative(SRC, dep)}`);
    }
  }
  assert.deepEqual(problems, []);
});

test('folders talk to each other only through their index.ts', () => {
  const problems: string[] = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      const to = folderOf(dep);
      if (FOLDERS.includes(to as (typeof FOLDERS)[number]) && to !== folderOf(file) && !dep.endsWith('/index.ts')) {
        problems.push(`${relative(SRC, file)} imports ${relative(SRC, dep)}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('index.ts files hold re-exports only', () => {
  // cli is the top of the graph: nothing imports it, so it has no index.
  for (const folder of FOLDERS.filter((f) => f !== 'cli')) {
    const lines = readFileSync(join(SRC, folder, 'index.ts'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const joined = lines.join('\n').replace(/export (type )?\{[^}]*\} from '[^']+';/gs, '');
    assert.equal(joined.trim(), '', `${folder}/index.ts has more than re-exports`);
  }
});

test('no import cycles', () => {
  const state = new Map<string, 'visiting' | 'done'>();
  const cycles: string[] = [];
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' → '));
      return;
    }
    state.set(file, 'visiting');
    for (const dep of graph.get(file) ?? []) visit(dep, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  assert.deepEqual(cycles, []);
});
