/**
 * Each command loads only what it uses (issue 13): the agent runs on every node, so a library
 * it does not need costs memory on every node. Every case runs the CLI in a process of its own
 * with test/support/module-recorder.ts preloaded, and asserts what was NOT loaded — with a
 * control that loads it, so an assertion cannot pass because nothing was recorded. It runs the
 * sources (test/support/svid-agent-command.ts); test/bundle.test.ts checks that the bundle users
 * run keeps the same boundaries (each of these modules only in a chunk an `import()` reaches).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type FakeKubeApi, startFakeKubeApi } from './fakes/kube-api.js';
import { NODE } from './support/k8s-world.js';
import { createProcFixture, type ProcFixture } from './support/proc-fixture.js';
import { spawnSvidAgent, svidAgentArgv } from './support/svid-agent-command.js';

const RECORDER = fileURLToPath(new URL('./support/module-recorder.ts', import.meta.url));
const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const isRoot = process.getuid?.() === 0;

/** What a record line names: a package (`yaml`, `@grpc/grpc-js`) or a source file (`src/agent/agent.ts`). */
function moduleId(entry: string): string | undefined {
  const path = entry.startsWith('file:') ? fileURLToPath(entry) : entry;
  const pkg = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1];
  if (pkg) return pkg;
  return path.startsWith(SRC) ? `src/${path.slice(SRC.length)}` : undefined;
}

interface Loaded {
  has(id: string): boolean;
  /** Source files under `dir` (e.g. `src/agent/`). */
  under(dir: string): string[];
}

async function loadedFrom(record: string): Promise<Loaded> {
  const ids = new Set((await readFile(record, 'utf8')).split('\n').flatMap((line) => moduleId(line) ?? []));
  return { has: (id) => ids.has(id), under: (dir) => [...ids].filter((id) => id.startsWith(dir)) };
}

/** Runs a child until it exits, or until `ready` holds for its output and then SIGTERM. */
function runUntil(child: ChildProcess, ready?: (output: string) => boolean): Promise<string> {
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out:\n${output}`));
    }, 60_000);
    const onData = (d: Buffer) => {
      output += String(d);
      if (ready?.(output)) child.kill('SIGTERM');
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => {
      clearTimeout(timer);
      if (ready && !ready(output)) reject(new Error(`exited before it was ready:\n${output}`));
      else resolve(output);
    });
  });
}

const serving = (output: string) => output.includes('listening on workload api socket');

describe('modules each command loads', () => {
  let dir: string;
  let record: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svid-agent-modules-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** `svid-agent <args>` with the recorder; `ready` for commands that run until stopped. */
  async function commandLoads(args: readonly string[], ready?: (output: string) => boolean, cwd = dir): Promise<Loaded> {
    record = join(dir, `record-${n++}`);
    const child = spawnSvidAgent(args, {
      cwd,
      nodeOptions: ['--import', RECORDER],
      env: { ...process.env, MODULE_RECORD: record },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = await runUntil(child, ready);
    return loadedFrom(record).catch(() => assert.fail(`nothing recorded:\n${output}`));
  }

  describe('run --dev', () => {
    let devDir: string;
    before(async () => {
      devDir = await mkdtemp(join(dir, 'dev-'));
    });

    test('loads no Kubernetes client, no YAML parser and no metrics library', async () => {
      const loaded = await commandLoads(['run', '--dev'], serving, devDir);
      assert.ok(loaded.has('@grpc/grpc-js') && loaded.has('src/agent/agent.ts'), 'the agent ran');
      for (const id of ['@kubernetes/client-node', 'yaml', 'prom-client']) assert.ok(!loaded.has(id), `${id} loaded`);
      assert.deepEqual(
        loaded.under('src/attestor/').filter((file) => /kube|token-review|k8s/.test(file)),
        [],
      );
      assert.ok(!loaded.has('src/agent/http-endpoints.ts'));
    });

    test('--config loads the YAML parser', async () => {
      const config = join(devDir, 'agent.yaml');
      await writeFile(config, 'logLevel: info\n');
      const loaded = await commandLoads(['run', '--dev', '--config', config], serving, devDir);
      assert.ok(loaded.has('yaml'));
      assert.ok(!loaded.has('prom-client'));
    });

    test('--health-addr loads the metrics library', async () => {
      const loaded = await commandLoads(['run', '--dev', '--health-addr', '127.0.0.1:0'], serving, devDir);
      assert.ok(loaded.has('prom-client'));
      assert.ok(!loaded.has('yaml'));
    });
  });

  describe('run --attestor k8s', () => {
    let api: FakeKubeApi;
    let proc: ProcFixture;
    let flags: string[];
    before(async () => {
      api = await startFakeKubeApi();
      proc = await createProcFixture();
      const certs = join(dir, 'certs');
      execFileSync(process.execPath, svidAgentArgv(['certs', 'create', '--out', certs]));
      flags = [
        'run',
        '--trust-anchors',
        join(certs, 'ca-bundle.crt'),
        '--issuer-dir',
        join(certs, 'issuer'),
        '--attestor',
        'k8s',
        '--node-name',
        NODE,
        '--proc-root',
        proc.root,
      ];
    });
    after(async () => {
      await api.close();
      await proc.cleanup();
    });

    test('in a pod (in-cluster configuration): no Kubernetes client library', {
      skip: isRoot ? false : 'needs root for a private mount namespace',
    }, async () => {
      // The service-account files at their real path, in a mount namespace of the agent's own.
      const files = await mkdtemp(join(dir, 'pod-'));
      const env = await api.writeInClusterFiles(files);
      const target = '/run/secrets/kubernetes.io/serviceaccount';
      const script = `mount -t tmpfs tmpfs /run && mkdir -p ${target} && cp "$SA_FILES"/* ${target}/ && exec "$0" "$@"`;
      record = join(dir, `record-${n++}`);
      const args = svidAgentArgv([...flags, '--socket', join(dir, 'in-cluster.sock')], { nodeOptions: ['--import', RECORDER] });
      const child = spawn('unshare', ['-m', '--', 'sh', '-c', script, process.execPath, ...args], {
        env: { ...process.env, ...env, SA_FILES: join(files, 'var/run/secrets/kubernetes.io/serviceaccount'), MODULE_RECORD: record },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output = await runUntil(child, serving);
      assert.ok(api.counts.accessReviews > 0, `the agent asked the API:\n${output}`);
      const loaded = await loadedFrom(record);
      assert.ok(loaded.has('src/attestor/token-review.ts') && loaded.has('src/attestor/kube-http.ts'), 'the Kubernetes attestor ran');
      assert.ok(!loaded.has('@kubernetes/client-node'));
      assert.ok(!loaded.has('src/attestor/kubeconfig-files.ts'));
    });

    test('with --kubeconfig: the library reads the file', async () => {
      const loaded = await commandLoads([...flags, '--socket', join(dir, 'kubeconfig.sock'), '--kubeconfig', api.kubeconfigPath], serving);
      assert.ok(loaded.has('@kubernetes/client-node'));
    });
  });

  describe('client commands load no agent code', () => {
    const missing = () => join(dir, 'missing.sock');
    const clientCases: Array<[string, () => string[]]> = [
      ['api fetch x509', () => ['api', 'fetch', 'x509', '--socket', missing()]],
      ['api fetch jwt', () => ['api', 'fetch', 'jwt', '--audience', 'a', '--socket', missing()]],
      ['api validate jwt', () => ['api', 'validate', 'jwt', '--audience', 'a', '--svid', 'x', '--socket', missing()]],
      ['healthcheck', () => ['healthcheck', '--socket', missing()]],
      ['certs create', () => ['certs', 'create', '--out', join(dir, 'client-certs')]],
      ['--version', () => ['--version']],
    ];
    for (const [name, args] of clientCases) {
      test(name, async () => {
        const loaded = await commandLoads(args());
        assert.ok(loaded.has('commander'), 'the CLI ran');
        assert.deepEqual([...loaded.under('src/agent/'), ...loaded.under('src/attestor/')], []);
        for (const id of ['@kubernetes/client-node', 'yaml', 'prom-client', 'pino', 'koffi']) {
          assert.ok(!loaded.has(id), `${id} loaded`);
        }
      });
    }
  });
});
