/**
 * The operations surface of issue 6 on a real agent: `/live`, `/ready` and `/metrics` on
 * `--health-addr`, and the `healthcheck` and `api watch` commands run as users and probes run
 * them (child processes of the CLI).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { METRIC_NAMES } from '../src/agent/index.js';
import { createWorkloadClient, type X509SVIDResponse } from '../src/cli/workload-client.js';
import { healthDefinition } from '../src/protos.js';
import { startTestAgent, type TestAgent } from './support/agent-harness.js';
import { runCli, startCli } from './support/cli-process.js';
import { sampleValue } from './support/metrics-text.js';

async function get(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.text() };
}

describe('health and metrics over HTTP', () => {
  let agent: TestAgent;
  let url: string;

  before(async () => {
    agent = await startTestAgent({ healthAddr: '127.0.0.1:0' });
    url = agent.running.httpUrl ?? assert.fail('no http listener');
  });
  after(() => agent.close());

  test('/live and /ready answer 200 once the agent is serving', async () => {
    assert.equal((await get(`${url}/live`)).status, 200);
    const ready = await get(`${url}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(JSON.parse(ready.body), { ready: true, checks: { issuer: true, issuer_chains_to_anchors: true, socket: true } });
  });

  test('/metrics after a fetch: one SVID issued, the open stream, the issuer and anchor expiry', async () => {
    const client = createWorkloadClient({ socketPath: agent.socketPath });
    const call = client.fetchX509SVID({ deadline: Number.POSITIVE_INFINITY });
    try {
      await new Promise<X509SVIDResponse>((resolve, reject) => {
        call.once('data', resolve);
        call.once('error', reject);
      });
      const text = (await get(`${url}/metrics`)).body;
      assert.equal(sampleValue(text, METRIC_NAMES.svidsIssued), 1);
      assert.equal(sampleValue(text, METRIC_NAMES.svidRotations), 0);
      assert.equal(sampleValue(text, METRIC_NAMES.openStreams), 1);
      assert.equal(sampleValue(text, METRIC_NAMES.identities), 1);
      assert.equal(sampleValue(text, METRIC_NAMES.workloadApiCalls, { method: 'FetchX509SVID', code: 'OK' }), 1);
      assert.equal(sampleValue(text, METRIC_NAMES.attestations, { attestor: 'unix', result: 'attested', reason: 'none' }), 1);
      assert.equal(sampleValue(text, METRIC_NAMES.ready), 1);
      // The issuer's chain ends at the anchor, so the chain expires with the earlier of the two.
      const notAfter = (pem: string) => Date.parse(new X509Certificate(pem).validTo) / 1000;
      const issuerNotAfter = Math.min(notAfter(agent.issuer.certificatePem), notAfter(agent.anchor.certificatePem));
      assert.equal(sampleValue(text, METRIC_NAMES.issuerNotAfter), issuerNotAfter);
      assert.equal(sampleValue(text, METRIC_NAMES.trustAnchorsNotAfter), notAfter(agent.anchor.certificatePem));
    } finally {
      call.cancel();
      client.close();
    }
  });

  test('/ready turns 503 when the socket stops serving', async () => {
    await agent.running.workloadApi.stop();
    const ready = await get(`${url}/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(JSON.parse(ready.body), { ready: false, checks: { issuer: true, issuer_chains_to_anchors: true, socket: false } });
  });
});

describe('svid-agent healthcheck', () => {
  let agent: TestAgent;
  let dir: string;

  before(async () => {
    agent = await startTestAgent();
    dir = await mkdtemp(join(tmpdir(), 'svid-agent-hc-'));
  });
  after(async () => {
    await agent.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('exit 0 against a running agent, by flag or SPIFFE_ENDPOINT_SOCKET', async () => {
    const byFlag = await runCli(['healthcheck', '--socket', agent.socketPath]);
    assert.equal(byFlag.code, 0, byFlag.stderr);
    assert.equal(byFlag.stdout, 'Agent is healthy.\n');
    const byEnv = await runCli(['healthcheck'], { env: { SPIFFE_ENDPOINT_SOCKET: `unix://${agent.socketPath}` } });
    assert.equal(byEnv.code, 0, byEnv.stderr);
  });

  test('the health calls leave no log lines', () => {
    assert.ok(!agent.log.entries.some((e) => /health/i.test(String(e.msg))), agent.log.text());
  });

  test('exit 1 with no socket', async () => {
    const missing = join(dir, 'none.sock');
    const r = await runCli(['healthcheck', '--socket', missing]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `Agent is unhealthy: no socket at ${missing} (is the agent running?)\n`);
  });

  test('exit 1 when the agent answers NOT_SERVING', async () => {
    const socketPath = join(dir, 'not-serving.sock');
    const server = new Server();
    // A health service that answers as an agent that is not ready does.
    server.addService(healthDefinition(), {
      Check: (_call: unknown, callback: (err: null, value: { status: string }) => void) => callback(null, { status: 'NOT_SERVING' }),
    });
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`unix:${socketPath}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
    );
    try {
      const r = await runCli(['healthcheck', '--socket', socketPath, '--verbose']);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, `Checking agent health on ${socketPath}...\n`);
      assert.equal(r.stderr, 'Agent is unhealthy: agent returned status "NOT_SERVING"\n');
      // --shallow (spire-agent's flag, in its spelling too) asks only whether the agent is up.
      for (const args of [
        ['--shallow', '--socket', socketPath],
        ['-shallow', '-socketPath', socketPath],
      ]) {
        const shallow = await runCli(['healthcheck', ...args]);
        assert.equal(shallow.code, 0, shallow.stderr);
        assert.equal(shallow.stdout, 'Agent is healthy.\n');
      }
    } finally {
      server.forceShutdown();
    }
  });
});

describe('svid-agent api watch', () => {
  test('prints the SVID and its rotation, and ends cleanly on SIGTERM', async () => {
    const agent = await startTestAgent({ svidTtlMs: 3_000, clockSkewMs: 0, minRefreshMs: 500 });
    const watch = startCli(['api', 'watch', '--socket', agent.socketPath]);
    try {
      const count = (out: string) => out.match(/^SPIFFE ID:\t\tspiffe:\/\/cluster\.local\/ns\/local\/sa\/[\w-]+$/gm)?.length ?? 0;
      await watch.waitFor(({ stdout }) => count(stdout) >= 2, 'two updates');
      const validUntil = watch.stdout().match(/^SVID Valid Until:\t.*$/gm) ?? [];
      assert.notEqual(validUntil[0], validUntil[1], 'the second update is a new SVID');
      assert.equal(await watch.stop('SIGTERM'), 0);
      assert.equal(watch.stderr(), '');
    } finally {
      await watch.stop('SIGKILL');
      await agent.close();
    }
  });
});
