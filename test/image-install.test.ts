/**
 * The Dockerfile's install steps without Docker (issue 6): bundle with the build's own esbuild
 * options (scripts/build.ts), install production dependencies only (`npm ci --omit=dev`, optional
 * dependencies kept for koffi), lay the files out as the image's /app does (bin, dist, no proto/),
 * then run the bundled agent and fetch an SVID from it. Catches a runtime import of a dev
 * dependency, a package the bundle leaves out that is not a dependency, and a file the bundle
 * would look for beside itself.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { bundleOptions } from '../scripts/build.js';
import { startFakeKubeApi } from './fakes/kube-api.js';
import { makeTestDir } from './support/agent-harness.js';
import { spawnAgent, waitForSocket } from './support/agent-process.js';
import { spawnSvidAgent } from './support/svid-agent-command.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('the image layout (bundled dist, production dependencies) serves an SVID', { timeout: 240_000 }, async () => {
  const dir = await makeTestDir('svid-image-');
  const app = join(dir, 'app');
  try {
    await mkdir(app);
    // Stage 2 of the Dockerfile: production dependencies only.
    for (const f of ['package.json', 'package-lock.json']) await cp(join(ROOT, f), join(app, f));
    await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, timeout: 200_000 });
    // Stage 1: bundle; stage 3: bin and dist beside node_modules.
    await build({ ...bundleOptions(join(app, 'dist')), write: true });
    await cp(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });

    const bin = join(app, 'bin/svid-agent.js');
    const certs = join(dir, 'certs');
    await run(process.execPath, [bin, 'certs', 'create', '--out', certs], { cwd: dir });
    const socket = join(dir, 'agent.sock');
    const agent = spawnAgent(
      [
        '--socket',
        socket,
        '--trust-anchors',
        join(certs, 'ca-bundle.crt'),
        '--issuer-dir',
        join(certs, 'issuer'),
        '--jwt-key',
        join(certs, 'jwt.key'),
        '--attestor',
        'unix',
        '--health-addr',
        '',
      ],
      { entry: bin },
    );
    try {
      await waitForSocket(socket, agent);
      const { stdout } = await run(process.execPath, [bin, 'api', 'fetch', 'x509', '--socket', socket], { cwd: dir });
      assert.match(stdout, /SPIFFE ID:\s+spiffe:\/\/cluster\.local\/ns\/local\/sa\//);
    } finally {
      agent.child.kill('SIGTERM');
      assert.equal(await agent.exit, 0);
    }
    assert.match((await run(process.execPath, [bin, '--help'], { cwd: dir })).stdout, /^Usage: svid-agent /);

    // The parts the bundle leaves out or splits off, loaded as a command needs them: the YAML
    // parser (--config), the metrics chunk (--health-addr), the Kubernetes chunk and
    // @kubernetes/client-node (--kubeconfig), all from the production node_modules.
    const api = await startFakeKubeApi();
    const config = join(dir, 'issuer.yaml');
    await writeFile(config, `trustAnchors: ${join(certs, 'ca-bundle.crt')}\nissuerDir: ${join(certs, 'issuer')}\n`);
    const issuer = spawnSvidAgent(
      ['issuer', '--config', config, '--kubeconfig', api.kubeconfigPath, '--listen', '127.0.0.1:0', '--health-addr', '127.0.0.1:0'],
      { entry: bin, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    try {
      await new Promise<void>((resolve, reject) => {
        issuer.stderr?.on('data', (d) => {
          stderr += String(d);
          if (stderr.includes('central issuer serving')) resolve();
        });
        issuer.once('exit', () => reject(new Error(`the issuer exited:\n${stderr}`)));
      });
      const url = /"url":"(http:\/\/[^"]+)"/.exec(stderr)?.[1];
      assert.ok(url, stderr);
      assert.match(await (await fetch(`${url}/metrics`)).text(), /^# HELP /m);
    } finally {
      issuer.kill('SIGTERM');
      await api.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
