/**
 * `config/agent-full.yaml` as its comments tell a user to use it: `certs create --out certs`,
 * then `run --config config/agent-full.yaml` from the same directory, with nothing changed. And
 * it documents every key `run` reads from a file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RUN_OPTIONS } from '../../src/cli/run-options.js';
import { runCli, startCli } from '../support/cli-process.js';

const FILE = fileURLToPath(new URL('../../config/agent-full.yaml', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'svid-agent-reference-config-'));
after(() => rmSync(work, { recursive: true, force: true }));

test('runs as written after certs create --out certs, and serves SVIDs on certs/agent.sock', async () => {
  const text = readFileSync(FILE, 'utf8');
  assert.match(text, /^# +svid-agent certs create --out certs\b/m);
  assert.match(text, /^# +svid-agent run --config config\/agent-full\.yaml$/m);
  assert.equal((await runCli(['certs', 'create', '--out', 'certs'], { cwd: work })).code, 0);

  const validated = await runCli(['validate', '--config', FILE], { cwd: work });
  assert.equal(validated.code, 0, validated.stderr);

  const agent = startCli(['run', '--config', FILE], { cwd: work });
  try {
    await agent.waitFor(({ stderr }) => stderr.includes('listening on workload api socket'), 'the agent to serve');
    const r = await runCli(['api', 'fetch', 'x509', '--socket', 'certs/agent.sock'], { cwd: work });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^SPIFFE ID:\t\tspiffe:\/\/cluster\.local\/ns\/local\/sa\/root$/m);
  } finally {
    assert.equal(await agent.stop(), 0, agent.stderr());
  }
});

test('documents every key with its type, and a default or when it is required', () => {
  const blocks = readFileSync(FILE, 'utf8').split(/\n\s*\n/);
  for (const { key } of RUN_OPTIONS) {
    if (key === 'config') continue;
    const block = blocks.find((b) => new RegExp(`^#? ?${key}:`, 'm').test(b));
    assert.ok(block, `agent-full.yaml has no entry for ${key}`);
    assert.match(block, /^# Type: /m, `${key} has no Type line`);
    assert.match(block, /Default: |Required /, `${key} says neither its default nor that it is required`);
  }
});
