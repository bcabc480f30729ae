/**
 * The `api` commands as users and scripts run them: child processes of the CLI
 * against a real agent (started without `--jwt-key`) or none at all, with real files.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestAgent, type TestAgent } from '../support/agent-harness.js';
import { runCli, startCli } from '../support/cli-process.js';

const ROOT_ID = 'spiffe://cluster.local/ns/local/sa/root';

describe('svid-agent api ... against a running agent without --jwt-key', () => {
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

  test('fetch jwt and validate jwt say that JWT-SVIDs are disabled', async () => {
    const disabled = `JWT-SVIDs are disabled on the agent at ${agent.socketPath} (it runs without --jwt-key; start it with --jwt-key FILE)`;
    const fetched = await runCli(['api', 'fetch', 'jwt', '--audience', 'a', '--socket', agent.socketPath]);
    assert.equal(fetched.code, 1);
    assert.equal(fetched.stdout, '');
    assert.equal(fetched.stderr, `svid-agent: fetching JWT bundles failed: ${disabled}\n`);
    const validated = await runCli(['api', 'validate', 'jwt', '--audience', 'a', '--svid', 'x.y.z', '--socket', agent.socketPath]);
    assert.equal(validated.code, 1);
    assert.equal(validated.stderr, `svid-agent: validating the JWT-SVID failed: ${disabled}\n`);
  });
});

describe('svid-agent api watch without an agent', () => {
  test('prints a plain retry line, not grpc-js internals, and exits 0 on SIGTERM', async () => {
    const socket = join(tmpdir(), `svid-agent-watch-missing-${process.pid}.sock`);
    const watch = startCli(['api', 'watch', '--socket', socket]);
    await watch.waitFor(({ stderr }) => stderr.includes('\n'), 'the first retry line');
    assert.equal(watch.stderr(), `svid-agent: watch: agent not reachable at ${socket} (no socket there), retrying in 1s\n`);
    assert.equal(await watch.stop(), 0);
  });
});
