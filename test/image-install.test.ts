/**
 * The Dockerfile's install steps without Docker (issue 6): compile with tsconfig.build.json,
 * install production dependencies only (`npm ci --omit=dev`, optional dependencies kept for
 * koffi), lay the files out as the image's /app does, then run the built agent and fetch an SVID
 * from it. Catches a runtime import of a dev dependency and a proto path that only works from src/.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTestDir } from './support/agent-harness.js';
import { spawnAgent, waitForSocket } from './support/agent-process.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('the image layout (built dist, production dependencies) serves an SVID', { timeout: 240_000 }, async () => {
  const dir = await makeTestDir('svid-image-');
  const app = join(dir, 'app');
  try {
    await mkdir(app);
    // Stage 2 of the Dockerfile: production dependencies only.
    for (const f of ['package.json', 'package-lock.json']) await cp(join(ROOT, f), join(app, f));
    await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, timeout: 200_000 });
    // Stage 1: compile; stage 3: bin, dist and proto beside node_modules.
    await run(process.execPath, [
      join(ROOT, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(ROOT, 'tsconfig.build.json'),
      '--outDir',
      join(app, 'dist'),
    ]);
    await cp(join(ROOT, 'bin'), join(app, 'bin'), { recursive: true });
    await cp(join(ROOT, 'proto'), join(app, 'proto'), { recursive: true });

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
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
