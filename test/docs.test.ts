/**
 * The README and docs stand alone and stay true: no reference outside the repository, every
 * relative link resolves, the README's two commands are there, the documented `certs create
 * --out certs` cannot put keys into git, and every command and every `run` and `issuer` option is documented.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ISSUER_OPTIONS } from '../src/cli/issuer-options.js';
import { RUN_OPTIONS } from '../src/cli/run-options.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string): string => readFileSync(join(REPO, path), 'utf8');

function filesUnder(dir: string): string[] {
  return readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? filesUnder(join(dir, d.name)) : [join(dir, d.name)],
  );
}

/** What users read: README, docs/, the manifests, the reference config and the image. */
const USER_FILES = ['README.md', 'Dockerfile', '.dockerignore', ...filesUnder('docs'), ...filesUnder('daemonset'), ...filesUnder('config')];
const MARKDOWN = USER_FILES.filter((f) => f.endsWith('.md'));

describe('the docs stand alone', () => {
  test('no reference outside the repository: no ../ paths out of it, no workspace paths, no SPEC sections', () => {
    const problems: string[] = [];
    for (const file of USER_FILES) {
      for (const [i, line] of read(file).split('\n').entries()) {
        if (/\bSPEC\b|reference §|\/work\/|shared\/(SPEC|STYLE|reference)/.test(line)) problems.push(`${file}:${i + 1}: ${line.trim()}`);
        for (const [, target] of line.matchAll(/\]\(([^)#\s]+)[^)]*\)/g)) {
          if (target === undefined || /^[a-z]+:/.test(target)) continue;
          const path = resolve(REPO, dirname(file), target);
          if (relative(REPO, path).startsWith('..')) problems.push(`${file}:${i + 1}: links outside the repository: ${target}`);
          else if (!existsSync(path)) problems.push(`${file}:${i + 1}: broken link: ${target}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  test('links to a section name a heading that exists', () => {
    const slug = (heading: string) =>
      heading
        .toLowerCase()
        .replace(/[^a-z0-9 _-]/g, '')
        .replace(/ /g, '-');
    const problems: string[] = [];
    for (const file of MARKDOWN) {
      for (const [, target, anchor] of read(file).matchAll(/\]\(([^)#\s]*)#([^)\s]+)\)/g)) {
        const doc = target ? join(dirname(file), target) : file;
        if (!doc.endsWith('.md') || !existsSync(join(REPO, doc)) || statSync(join(REPO, doc)).isDirectory()) continue;
        const headings = [...read(doc).matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1] ?? ''));
        if (!headings.includes(anchor ?? '')) problems.push(`${file}: #${anchor} is not a heading of ${doc}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});

describe('README', () => {
  const readme = read('README.md');

  test('keeps the command that installs and runs the agent, and the one that installs and runs the tests', () => {
    assert.ok(readme.includes('\nnpm ci && npm run build && node bin/svid-agent.js run --dev\n'));
    assert.ok(readme.includes('\nnpm ci && npm test\n'));
    assert.match(read('.ci/run'), /^npm ci && npm test$/m, '.ci/run runs the same');
  });

  test('tells spire-agent users to pass -socketPath: spire-agent api does not read SPIFFE_ENDPOINT_SOCKET', () => {
    assert.match(readme, /`spire-agent api fetch` does not read that\s+variable; give it the socket with `-socketPath/);
  });
});

test('keys written by the documented `certs create --out certs` are ignored by git', () => {
  assert.match(read('docs/kubernetes.md'), /svid-agent certs create --out certs\n/);
  for (const file of ['certs/ca.key', 'certs/issuer/tls.key', 'certs/jwt.key']) {
    execFileSync('git', ['check-ignore', '--quiet', '--no-index', file], { cwd: REPO });
  }
});

test('the Kubernetes guide asks for no restart after a trust-roots change: the agent reloads it', () => {
  const guide = read('docs/kubernetes.md');
  assert.doesNotMatch(guide, /rollout restart/);
  assert.match(guide, /no restart is needed/);
});

describe('the contract is documented', () => {
  test('docs/cli.md covers every command', () => {
    const cli = read('docs/cli.md');
    for (const command of [
      'run',
      'validate',
      'issuer',
      'api fetch x509',
      'api fetch jwt',
      'api validate jwt',
      'api watch',
      'healthcheck',
      'certs create',
    ]) {
      assert.match(cli, new RegExp(`^## \`${command}\`$`, 'm'), `no section for ${command}`);
    }
    assert.match(cli, /^## Exit codes$/m);
    assert.match(cli, /--version/);
  });

  test('docs/central-issuer.md covers every option of issuer', () => {
    const central = read('docs/central-issuer.md');
    for (const { flag, key } of ISSUER_OPTIONS) {
      assert.ok(central.includes(`\`--${flag}`), `docs/central-issuer.md does not name --${flag}`);
      if (key !== 'config') assert.ok(central.includes(`\`${key}\``), `docs/central-issuer.md does not name ${key}`);
    }
  });

  test('docs/configuration.md and config/agent-full.yaml cover every option of run', () => {
    const configuration = read('docs/configuration.md');
    for (const { flag, key } of RUN_OPTIONS) {
      assert.ok(configuration.includes(`\`--${flag}`), `docs/configuration.md does not name --${flag}`);
      if (key !== 'config') assert.ok(configuration.includes(`\`${key}\``), `docs/configuration.md does not name ${key}`);
    }
  });
});
