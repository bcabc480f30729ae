/**
 * `svid-agent run --attestor k8s` driven from the command line alone, as users and outside
 * harnesses do (issue 3): the agent is its own process, the fake API is reached through a
 * kubeconfig, /proc through `--proc-root`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { type FakeKubeApi, startFakeKubeApi } from './fakes/kube-api.js';
import { writeCredentials } from './support/agent-harness.js';
import { spawnAgent as runAgentProcess, waitForSocket } from './support/agent-process.js';
import { finalStatus } from './support/child.js';
import { callAs, createTestPod, inPod, NODE, spiffeIdOf } from './support/k8s-world.js';
import { createProcFixture, type ProcFixture } from './support/proc-fixture.js';

describe('svid-agent run --attestor k8s from the command line', () => {
  let api: FakeKubeApi;
  let proc: ProcFixture;
  let dir: string;
  let files: Awaited<ReturnType<typeof writeCredentials>>;
  const flags = (socket: string) => [
    '--socket',
    socket,
    '--trust-anchors',
    files.trustAnchors,
    '--issuer-dir',
    files.issuerDir,
    '--attestor',
    'k8s',
    '--kubeconfig',
    api.kubeconfigPath,
    '--node-name',
    NODE,
    '--proc-root',
    proc.root,
    '--health-addr',
    '',
  ];

  before(async () => {
    api = await startFakeKubeApi();
    proc = await createProcFixture();
    dir = await mkdtemp(join(tmpdir(), 'svid-cli-k8s-'));
    files = await writeCredentials(dir);
  });
  after(async () => {
    await api.close();
    await proc.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('serves a pod its SVID and stops cleanly on SIGTERM', async () => {
    const socketPath = join(dir, 'agent.sock');
    const agent = runAgentProcess(flags(socketPath));
    try {
      await waitForSocket(socketPath, agent);
      const pod = await createTestPod(api);
      assert.equal(spiffeIdOf(await callAs({ socketPath, proc }, inPod(pod))), 'spiffe://cluster.local/ns/emojivoto/sa/web');
      const intruder = await callAs({ socketPath, proc }, { cgroup: pod.cgroup });
      assert.equal(finalStatus(intruder).code, status.PERMISSION_DENIED);
    } finally {
      agent.child.kill('SIGTERM');
    }
    assert.equal(await agent.exit, 0);
    assert.ok(!existsSync(socketPath), 'socket removed');
    assert.doesNotMatch(agent.stderr(), /eyJ|BEGIN/, 'no token or key in the logs');
  });

  test('refuses to start, exit 2, when it may not create tokenreviews', async () => {
    api.setTokenReviewAccess(false, 'RBAC: no rule allows it');
    try {
      const agent = runAgentProcess(flags(join(dir, 'denied.sock')));
      assert.equal(await agent.exit, 2);
      assert.match(agent.stderr(), /may not create tokenreviews/);
      assert.doesNotMatch(agent.stderr(), /\n\s+at /, 'no stack trace');
    } finally {
      api.setTokenReviewAccess(true);
    }
  });

  test('refuses to start, exit 2, with a broken issuer, naming the problem', async () => {
    const agent = runAgentProcess([...flags(join(dir, 'broken.sock')), '--issuer-dir', dir]);
    assert.equal(await agent.exit, 2);
    assert.match(agent.stderr(), /holds neither tls\.crt\+tls\.key nor crt\.pem\+key\.pem/);
  });
});
