/**
 * `svid-agent issuer` as operators run it: a child process of `bin/svid-agent.js` on real files
 * and the strict fake Kubernetes API. Refusals to start are one line on stderr with exit 2; a
 * started issuer serves /live, /ready and /metrics and stops on SIGTERM.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ISSUER_OPTIONS } from '../../src/cli/issuer-options.js';
import { type FakeKubeApi, startFakeKubeApi } from '../fakes/kube-api.js';
import { type CliResult, runCli, startCli } from '../support/cli-process.js';

const work = mkdtempSync(join(tmpdir(), 'svid-agent-issuer-cli-'));
let api: FakeKubeApi;

before(async () => {
  assert.equal((await runCli(['certs', 'create', '--out', 'certs'], { cwd: work })).code, 0);
  api = await startFakeKubeApi();
});
after(async () => {
  await api.close();
  rmSync(work, { recursive: true, force: true });
});

const ISSUER = () => [
  'issuer',
  '--trust-anchors',
  'certs/ca-bundle.crt',
  '--issuer-dir',
  'certs/issuer',
  '--kubeconfig',
  api.kubeconfigPath,
  '--listen',
  '127.0.0.1:0',
  '--log-level',
  'error',
];
const issuer = (extra: string[]) => runCli([...ISSUER(), ...extra], { cwd: work });

function assertOneLine(r: CliResult, expected: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line expected on stderr:\n${r.stderr}`);
  assert.match(lines[0] ?? '', expected);
}

describe('svid-agent issuer refuses to start', () => {
  test('when it may not create tokenreviews (SelfSubjectAccessReview denied): exit 2, says what to bind', async () => {
    api.setTokenReviewAccess(false);
    try {
      assertOneLine(
        await issuer([]),
        /^svid-agent: the issuer may not create tokenreviews: denied; bind the ClusterRole system:auth-delegator to the issuer's service account$/,
      );
    } finally {
      api.setTokenReviewAccess(true);
    }
  });

  test('with --plaintext on an address other hosts reach: exit 2', async () => {
    assertOneLine(
      await issuer(['--plaintext', '--listen', '0.0.0.0:8080']),
      /^svid-agent: --plaintext: h2c is only served on a loopback address, not on 0\.0\.0\.0:8080/,
    );
  });

  test('with one audience for agents and workloads, or a bad agent account: every problem at once, exit 2', async () => {
    const r = await issuer(['--agent-audience', 'identity.l5d.io', '--agent-service-account', 'svid-agent']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--agent-audience: must differ from --token-audience/);
    assert.match(r.stderr, /--agent-service-account: expected NAMESPACE\/NAME, got "svid-agent"/);
  });

  test('with no server name to derive from a custom identity domain', async () => {
    assertOneLine(await issuer(['--identity-domain', 'mesh.example.org']), /^svid-agent: --server-name: required: the identity domain/);
  });
});

describe('config/issuer-full.yaml', () => {
  const FILE = fileURLToPath(new URL('../../config/issuer-full.yaml', import.meta.url));

  test('runs as written after certs create --out certs (with a kubeconfig and a free port)', async () => {
    assert.match(readFileSync(FILE, 'utf8'), /^# +svid-agent issuer --config config\/issuer-full\.yaml/m);
    const proc = startCli(['issuer', '--config', FILE, '--kubeconfig', api.kubeconfigPath, '--listen', '127.0.0.1:0'], { cwd: work });
    try {
      await proc.waitFor(({ stderr }) => stderr.includes('central issuer serving'), 'the issuer to serve');
      assert.equal(await proc.stop(), 0, proc.stderr());
    } finally {
      await proc.stop('SIGKILL');
    }
  });

  test('documents every key with its type, and a default or that it is required', () => {
    const blocks = readFileSync(FILE, 'utf8').split(/\n\s*\n/);
    for (const { key } of ISSUER_OPTIONS) {
      if (key === 'config') continue;
      const block = blocks.find((b) => new RegExp(`^#? ?${key}:`, 'm').test(b));
      assert.ok(block, `issuer-full.yaml has no entry for ${key}`);
      assert.match(block, /^# Type: /m, `${key} has no Type line`);
      assert.match(block, /Default: |Required/, `${key} says neither its default nor that it is required`);
    }
  });
});

describe('svid-agent issuer runs', () => {
  test('serves /live, /ready (tokenreviews allowed) and /metrics, and stops on SIGTERM', async () => {
    const proc = startCli([...ISSUER(), '--health-addr', '127.0.0.1:0', '--log-level', 'info'], { cwd: work });
    try {
      await proc.waitFor(({ stderr }) => stderr.includes('central issuer serving'), 'the issuer to serve');
      const url = /"url":"(http:\/\/[^"]+)"/.exec(proc.stderr())?.[1];
      assert.ok(url, proc.stderr());
      const ready = await fetch(`${url}/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(await ready.json(), {
        ready: true,
        checks: { issuer: true, issuer_chains_to_anchors: true, tokenreviews_allowed: true },
      });
      assert.match(await (await fetch(`${url}/metrics`)).text(), /svid_issuer_ready 1/);
      assert.equal(await proc.stop(), 0);
    } finally {
      await proc.stop('SIGKILL');
    }
  });
});
