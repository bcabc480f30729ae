/**
 * CI checks of the image build (issue 6): the Dockerfile's stages, user and entry point, and that
 * it copies only files that exist and are in the build context.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isDockerIgnored, parseDockerfile } from './daemonset/dockerfile.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));

describe('Dockerfile', () => {
  const dockerfile = parseDockerfile(readFileSync(join(REPO, 'Dockerfile'), 'utf8'));
  const dockerignore = readFileSync(join(REPO, '.dockerignore'), 'utf8');
  const last = Math.max(...dockerfile.map((i) => i.stage));
  const runs = dockerfile.filter((i) => i.keyword === 'RUN').map((i) => i.args);

  test('builds in stages from a Node.js LTS line that still gets security fixes, and keeps optional dependencies', () => {
    assert.ok(last >= 1, 'multi-stage');
    const base = dockerfile.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))?.args;
    const major = Number(/^NODE_IMAGE=node:(\d+)-bookworm-slim$/.exec(base ?? '')?.[1]);
    // Node 20 reached its end of life in April 2026; LTS lines are the even ones (docs/decisions.md).
    assert.ok(major >= 22 && major % 2 === 0, `${base} is not a supported LTS line`);
    // The machines that build and test it run Node 20: the package must still accept it.
    const { engines } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } };
    assert.match(engines.node, /^\^20\.\d+\.\d+ \|\| >=21\.\d+\.\d+$/);
    for (const from of dockerfile.filter((i) => i.keyword === 'FROM')) assert.match(from.args, /^\$\{NODE_IMAGE\}/);
    assert.ok(
      runs.some((r) => /\bnpm ci\b/.test(r) && !r.includes('--omit')),
      'full npm ci to build',
    );
    assert.ok(runs.some((r) => r.includes('npm run build')));
    assert.ok(
      runs.some((r) => r.includes('npm ci --omit=dev')),
      'production dependencies',
    );
    assert.ok(!runs.some((r) => r.includes('--omit=optional')), "koffi's binary is an optional dependency");
  });

  test('runs the CLI entry point as a non-root user by default', () => {
    const final = dockerfile.filter((i) => i.stage === last);
    const user = final.filter((i) => i.keyword === 'USER').at(-1)?.args;
    assert.ok(user !== undefined && !['root', '0', '0:0'].includes(user), `USER ${user}`);
    assert.equal(final.find((i) => i.keyword === 'ENTRYPOINT')?.args, '["node", "/app/bin/svid-agent.js"]');
    const copies = final.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'));
    assert.ok(
      copies.some((i) => i.args === 'bin ./bin'),
      'bin/svid-agent.js lands at /app/bin',
    );
  });

  test('copies only files that exist and are in the build context', () => {
    for (const copy of dockerfile.filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const source of sources) {
        assert.ok(existsSync(join(REPO, source)), `COPY ${source}: not in the repository`);
        assert.ok(!isDockerIgnored(dockerignore, source), `COPY ${source}: excluded by .dockerignore`);
      }
    }
    assert.ok(isDockerIgnored(dockerignore, 'node_modules/koffi/index.js'));
    assert.ok(isDockerIgnored(dockerignore, 'src/duration.test.ts'));
    assert.ok(!isDockerIgnored(dockerignore, 'src/duration.ts'));
  });
});
