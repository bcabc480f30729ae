/**
 * `svid-agent api fetch x509` as users and scripts run it: a child process of
 * `bin/svid-agent.js` against a real agent, with real files.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestAgent, type TestAgent } from '../support/agent-harness.js';
import { runCli } from '../support/cli-process.js';

const ROOT_ID = 'spiffe://cluster.local/ns/local/sa/root';

describe('svid-agent api fetch x509 against a running agent', () => {
  let agent: TestAgent;
  const out = mkdtempSync(join(tmpdir(), 'svid-agent-x509-cli-'));
  before(async () => {
    agent = await startTestAgent();
  });
  after(async () => {
    await agent.close();
    rmSync(out, { recursive: true, force: true });
  });

  test('--output json --write: stdout is only the JSON spire-agent prints; the files are written; progress goes to stderr', async () => {
    const dir = join(out, 'svid');
    const r = await runCli(['api', 'fetch', 'x509', '--output', 'json', '--write', dir, '--socket', agent.socketPath]);
    assert.equal(r.code, 0, r.stderr);
    const json = JSON.parse(r.stdout) as Record<string, unknown> & { svids: Array<Record<string, unknown>> };
    assert.deepEqual(Object.keys(json), ['crl', 'federated_bundles', 'svids']);
    assert.deepEqual(json.crl, []);
    assert.deepEqual(json.federated_bundles, {});
    assert.deepEqual(Object.keys(json.svids[0] ?? {}), ['bundle', 'hint', 'spiffe_id', 'x509_svid', 'x509_svid_key']);
    assert.equal(json.svids[0]?.spiffe_id, ROOT_ID);
    assert.match(r.stderr, /^Writing SVID #0 to file .*svid\.0\.pem\.$/m);
    for (const file of ['svid.0.pem', 'svid.0.key', 'bundle.0.pem']) assert.ok(existsSync(join(dir, file)), file);
    assert.equal(statSync(join(dir, 'svid.0.key')).mode & 0o777, 0o600);
  });

  test('pretty output says "svid" for one SVID and keeps the progress lines on stdout', async () => {
    const dir = join(out, 'pretty');
    const r = await runCli(['api', 'fetch', 'x509', '--write', dir, '--socket', agent.socketPath]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Received 1 svid after /);
    assert.match(r.stdout, /^Writing key #0 to file .*svid\.0\.key\.$/m);
    assert.equal(r.stderr, '');
  });
});
