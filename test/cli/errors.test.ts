/**
 * Failures as a person meets them: child processes of the CLI on real files. Each
 * failure is one line that names the flag and says what to do, printed once (no JSON log line
 * saying the same), with the exit code of the rule in docs/cli.md (2: change what you gave).
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliOptions, type CliResult, runCli, startCli } from '../support/cli-process.js';

const NOBODY = 65534;
const needsRoot = process.getuid?.() === 0 ? false : 'needs root to run the command as user nobody';
const work = mkdtempSync(join(tmpdir(), 'svid-agent-errors-'));
chmodSync(work, 0o755);
after(() => rmSync(work, { recursive: true, force: true }));

const cli = (args: string[], options: CliOptions = {}) => runCli(args, { cwd: work, ...options });

/** Exactly one line on stderr, `svid-agent: <expected>`, and nothing else. */
function assertOneLine(r: CliResult, expected: RegExp, code = 2): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected on stderr:\n${r.stderr}`);
  assert.match(lines[0] ?? '', expected);
}

/** `run` on the credentials of `certs create`, with the unix attestor, so only `extra` is at fault. */
const RUN = ['run', '--trust-anchors', 'certs/ca-bundle.crt', '--issuer-dir', 'certs/issuer', '--attestor', 'unix', '--log-level', 'error'];

before(async () => {
  assert.equal((await cli(['certs', 'create', '--out', 'certs'])).code, 0);
  writeFileSync(join(work, 'a-file'), 'not a directory');
});

describe('run: the socket', () => {
  test('under a regular file: names --socket and the file in the way', async () => {
    const r = await cli([...RUN, '--socket', 'a-file/agent.sock']);
    assertOneLine(
      r,
      /^svid-agent: --socket .*\/a-file\/agent\.sock: a file is in the way of its directory .*\/a-file \(choose another place with --socket\)$/,
    );
  });

  test('in a directory this user may not write: says so and suggests --socket', { skip: needsRoot }, async () => {
    const nobodyCerts = join(work, 'nobody-certs');
    cpSync(join(work, 'certs'), nobodyCerts, { recursive: true });
    for (const file of ['', 'ca-bundle.crt', 'issuer', 'issuer/tls.crt', 'issuer/tls.key'])
      chownSync(join(nobodyCerts, file), NOBODY, NOBODY);
    const locked = join(work, 'root-only');
    mkdirSync(locked, { mode: 0o755 });
    const r = await cli(
      ['run', '--trust-anchors', 'nobody-certs/ca-bundle.crt', '--issuer-dir', 'nobody-certs/issuer', '--attestor', 'unix'].concat([
        '--log-level',
        'error',
        '--socket',
        join(locked, 'agent.sock'),
      ]),
      { uid: NOBODY, gid: NOBODY },
    );
    assertOneLine(
      r,
      /^svid-agent: --socket .*\/root-only\/agent\.sock: cannot create the socket in .*\/root-only: permission denied \(run as a user who may write .*\/root-only, or choose another place with --socket\)$/,
    );
  });
});

describe('run --dev: a dev directory another user made', () => {
  test('names --dev and says what to do', { skip: needsRoot }, async () => {
    const shared = join(work, 'shared');
    mkdirSync(shared, { mode: 0o755 });
    const owner = startCli(['run', '--dev'], { cwd: shared });
    await owner.waitFor(({ stdout }) => stdout.includes('is serving on'), 'the first dev agent');
    await owner.stop();
    const r = await cli(['run', '--dev', '--log-level', 'error'], { cwd: shared, uid: NOBODY, gid: NOBODY });
    assertOneLine(
      r,
      /^svid-agent: --dev: cannot use .*\/shared\/\.svid-agent: permission denied at .* \(another user made it: run as that user, or delete it to start afresh\)$/,
    );
  });
});

describe('output directories', () => {
  test('api fetch x509 --write onto a file: exit 2 before any call is made', async () => {
    const r = await cli(['api', 'fetch', 'x509', '--socket', 'no-agent.sock', '--write', 'a-file']);
    assertOneLine(r, /^svid-agent: --write: .*\/a-file is a file, not a directory \(name a directory; it is created if missing\)$/);
  });

  test('certs create --out onto a file', async () => {
    const r = await cli(['certs', 'create', '--out', 'a-file']);
    assertOneLine(r, /^svid-agent: --out: .*\/a-file is a file, not a directory \(name a directory; it is created if missing\)$/);
  });
});

describe('the kubeconfig error carries its reason', () => {
  test('missing file', async () => {
    const r = await cli([...RUN.filter((a) => a !== '--attestor' && a !== 'unix'), '--node-name', 'n1', '--kubeconfig', 'nope.yaml']);
    assertOneLine(
      r,
      /^svid-agent: kubernetes client configuration from --kubeconfig .*\/nope\.yaml is unusable: no such file or directory$/,
    );
  });

  test('not YAML', async () => {
    writeFileSync(join(work, 'broken-kubeconfig'), 'apiVersion: v1\nclusters: [\n');
    const r = await cli([
      ...RUN.filter((a) => a !== '--attestor' && a !== 'unix'),
      '--node-name',
      'n1',
      '--kubeconfig',
      'broken-kubeconfig',
    ]);
    assertOneLine(
      r,
      /^svid-agent: kubernetes client configuration from --kubeconfig .*broken-kubeconfig is unusable: unexpected end of the stream/,
    );
  });
});

describe('a config file that does not parse', () => {
  test('is the only problem reported', async () => {
    writeFileSync(join(work, 'broken.yaml'), 'trustAnchors: [certs/ca-bundle.crt\n');
    const r = await cli(['run', '--config', 'broken.yaml']);
    assertOneLine(r, /^svid-agent: broken\.yaml: invalid YAML at line 2, column 1: /);
  });
});
