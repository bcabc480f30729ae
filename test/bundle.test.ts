/**
 * The bundle `npm run build` makes (scripts/build.ts) keeps the lazy boundaries of the sources:
 * test/module-loading.test.ts runs the sources and asserts, per command, what was not loaded;
 * here esbuild's metafile of the same build shows that each of those modules sits in a chunk that
 * only an `import()` reaches, so a command that does not take that path does not load it from the
 * bundle either. What a file loads at start is its static `import` closure.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { build, type Metafile } from 'esbuild';
import { bundleOptions, EXTERNAL_PACKAGES } from '../scripts/build.js';

let meta: Metafile;
const ENTRY = 'dist/svid-agent.js';

before(async () => {
  meta = (await build({ ...bundleOptions('dist'), write: false })).metafile;
});

/** The output file that holds source `input` (e.g. `src/cli/run.ts`). */
function outputOf(input: string): string {
  const found = Object.entries(meta.outputs).find(([, output]) => input in output.inputs)?.[0];
  assert.ok(found, `${input} is not in the bundle`);
  return found;
}

/** What loading `outputs` loads with them: bundled inputs and external packages, by static imports only. */
function loadedWith(...outputs: string[]): { inputs: Set<string>; external: Set<string> } {
  const seen = new Set<string>();
  const external = new Set<string>();
  const todo = [...outputs];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    for (const imported of meta.outputs[next]?.imports ?? []) {
      if (imported.kind === 'dynamic-import') continue;
      if (imported.external) external.add(imported.path);
      else todo.push(imported.path);
    }
  }
  const inputs = new Set([...seen].flatMap((output) => Object.keys(meta.outputs[output]?.inputs ?? {})));
  return { inputs, external };
}

/** The package an input belongs to (`prom-client`, `@grpc/grpc-js`), or the source path. */
function idOf(input: string): string {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)?.[1] ?? input;
}

function has(loaded: ReturnType<typeof loadedWith>, id: string): boolean {
  return loaded.external.has(id) || [...loaded.inputs].some((input) => idOf(input) === id || input.startsWith(id));
}

describe('the bundle', () => {
  test('leaves out the native and the Kubernetes client packages, and the YAML parser (loaded by require)', () => {
    const packages = new Set(Object.keys(meta.inputs).map(idOf));
    for (const name of [...EXTERNAL_PACKAGES, 'yaml', 'typescript', 'tsx']) assert.ok(!packages.has(name), `${name} is bundled`);
    assert.ok(packages.has('@grpc/grpc-js') && packages.has('protobufjs') && packages.has('pino'));
    assert.ok(!Object.keys(meta.inputs).some((input) => input.endsWith('.proto')));
  });

  test("package.json's runtime dependencies are exactly what the bundle leaves out: the image installs nothing else", () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), [...EXTERNAL_PACKAGES, 'yaml'].sort());
  });

  test('every command: the entry loads no agent, attestor or server code and none of the heavy packages', () => {
    const loaded = loadedWith(ENTRY);
    assert.ok(has(loaded, 'commander'), 'the CLI is in the entry');
    for (const id of [
      'src/agent/',
      'src/attestor/',
      'src/server/',
      'pino',
      'koffi',
      'prom-client',
      '@kubernetes/client-node',
      '@grpc/grpc-js',
    ]) {
      assert.ok(!has(loaded, id), `${id} loaded by every command`);
    }
  });

  test('run: no Kubernetes attestor or client, no metrics library, no HTTP endpoints', () => {
    const loaded = loadedWith(ENTRY, outputOf('src/cli/run.ts'));
    assert.ok(has(loaded, '@grpc/grpc-js') && has(loaded, 'src/agent/agent.ts'), 'the agent is loaded');
    for (const id of [
      '@kubernetes/client-node',
      'prom-client',
      'src/http-endpoints.ts',
      'src/agent/metrics.ts',
      'src/agent/central-issuing.ts',
    ]) {
      assert.ok(!has(loaded, id), `${id} loaded by run`);
    }
    assert.deepEqual(
      [...loaded.inputs].filter((input) => input.startsWith('src/attestor/') && /kube|token-review|k8s/.test(input)),
      [],
    );
  });

  test('--health-addr: the metrics chunk holds the metrics library', () => {
    assert.ok(has(loadedWith(outputOf('src/agent/metrics.ts')), 'prom-client'));
  });

  test('Kubernetes mode: the in-cluster path loads no client library; only the kubeconfig chunk imports it', () => {
    const k8s = loadedWith(outputOf('src/attestor/kubernetes.ts'));
    assert.ok(has(k8s, 'src/attestor/token-review.ts') && has(k8s, 'src/attestor/kube-http.ts'));
    assert.ok(!has(k8s, '@kubernetes/client-node'));
    assert.ok(has(loadedWith(outputOf('src/attestor/kubeconfig-files.ts')), '@kubernetes/client-node'));
  });

  for (const command of ['fetch-x509', 'fetch-jwt', 'validate-jwt', 'watch', 'healthcheck', 'certs-create']) {
    test(`client command ${command}: no agent or attestor code`, () => {
      const loaded = loadedWith(ENTRY, outputOf(`src/cli/${command}.ts`));
      for (const id of ['src/agent/', 'src/attestor/', '@kubernetes/client-node', 'prom-client', 'pino', 'koffi']) {
        assert.ok(!has(loaded, id), `${id} loaded by ${command}`);
      }
    });
  }
});
