/**
 * Kubernetes attestation end to end (issue 3): a real child process, a /proc fixture saying
 * which pod it is in, the fake API server verifying tokens, and the agent deciding — with no
 * token on the wire, exactly like the Linkerd proxy.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { type AgentConfig, METRIC_NAMES } from '../src/agent/index.js';
import { type FakeKubeApi, startFakeKubeApi } from './fakes/kube-api.js';
import { startTestAgent, type TestAgent } from './support/agent-harness.js';
import { type ChildEvent, finalStatus, firstData, firstSvid, startChild } from './support/child.js';
import { callAs, createTestPod, inPod, NODE, spiffeIdOf, TOKEN_PATH } from './support/k8s-world.js';
import { sampleValue } from './support/metrics-text.js';
import { createProcFixture, hostCgroup, type ProcFixture } from './support/proc-fixture.js';
import { assertLinkerdSans } from './support/san-order.js';
import { waitUntil, within } from './support/wait-until.js';

interface World {
  api: FakeKubeApi;
  proc: ProcFixture;
  agent: TestAgent;
  socketPath: string;
}

async function startWorld(overrides: Partial<AgentConfig> = {}): Promise<World> {
  const api = await startFakeKubeApi();
  const proc = await createProcFixture();
  const agent = await startTestAgent({
    attestor: 'k8s',
    kubeconfig: api.kubeconfigPath,
    nodeName: NODE,
    procRoot: proc.root,
    // As the DaemonSet runs it: metrics on (they are off without a listener).
    healthAddr: '127.0.0.1:0',
    ...overrides,
  });
  return { api, proc, agent, socketPath: agent.socketPath };
}

async function stopWorld(w: World): Promise<void> {
  await w.agent.close();
  await w.api.close();
  await w.proc.cleanup();
}

const pod = (w: World, opts: Parameters<typeof createTestPod>[1] = {}) => createTestPod(w.api, opts);

describe('kubernetes attestation through the socket', () => {
  let w: World;
  before(async () => {
    w = await startWorld();
  });
  after(() => stopWorld(w));

  test('a pod gets its SVID from its projected token, with no token on the wire', async () => {
    const p = await pod(w);
    const events = await callAs(w, { cgroup: p.cgroup, files: { [TOKEN_PATH]: p.token } });
    assert.equal(spiffeIdOf(events), 'spiffe://cluster.local/ns/emojivoto/sa/web');
    // Only the leaf: x509_svid is the leaf followed by the issuer.
    const leaf = new X509Certificate(firstSvid(firstData(events)).x509_svid).raw;
    assertLinkerdSans(leaf, {
      dnsName: 'web.emojivoto.serviceaccount.identity.linkerd.cluster.local',
      spiffeId: 'spiffe://cluster.local/ns/emojivoto/sa/web',
    });
  });

  test('a bearer token of its own pod is accepted', async () => {
    const p = await pod(w, { sa: 'api' });
    const events = await callAs(w, { cgroup: p.cgroup }, ['--bearer', p.token]);
    assert.equal(spiffeIdOf(events), 'spiffe://cluster.local/ns/emojivoto/sa/api');
  });

  test('a client that hangs up mid-review ends as CANCELLED; its TokenReview still fills the cache', async () => {
    const p = await pod(w);
    let answer: () => void = () => undefined;
    const arrived = new Promise<void>((resolve) => {
      w.api.onTokenReview = () => {
        resolve();
        return new Promise<void>((release) => {
          answer = release;
        });
      };
    });
    const reviews = w.api.counts.tokenReviews;
    // Only this test's log lines: earlier tests logged 'attesting caller' too.
    const logged = w.agent.log.entries.length;
    const ours = () => w.agent.log.entries.slice(logged);
    const cancelled = () => ours().find((e) => e.msg === 'workload api call cancelled');
    // The review may start at accept, before the call arrives: hang up only once the call is attesting.
    const attesting = () => ours().some((e) => e.msg === 'attesting caller');
    try {
      const child = startChild(['--socket', w.socketPath, '--wait-stdin']);
      const ready = await child.waitFor((e) => e.event === 'ready');
      await w.proc.addProcess(ready.pid as number, inPod(p));
      child.go();
      const state = () => `client: ${JSON.stringify(child.events)}\nagent log:\n${w.agent.log.text()}`;
      await within(arrived, 'the TokenReview of the caller');
      await waitUntil(attesting, "the agent's 'attesting caller' line for this call", { state });
      child.process.kill('SIGKILL');
      await waitUntil(() => cancelled() !== undefined, "the agent's 'workload api call cancelled' line", { state });
      assert.equal(cancelled()?.code, 'CANCELLED');
    } finally {
      w.api.onTokenReview = undefined;
      answer();
    }
    // The same pod again: its token's review was not aborted, so it answers from the cache.
    assert.equal(spiffeIdOf(await callAs(w, inPod(p))), 'spiffe://cluster.local/ns/emojivoto/sa/web');
    assert.equal(w.api.counts.tokenReviews, reviews + 1, 'one TokenReview for both calls');
    const metrics = await w.agent.running.metrics.render();
    assert.equal(sampleValue(metrics, METRIC_NAMES.workloadApiCalls, { method: 'FetchX509SVID', code: 'CANCELLED' }), 1);
    assert.equal(sampleValue(metrics, METRIC_NAMES.workloadApiCalls, { method: 'FetchX509SVID', code: 'UNAVAILABLE' }), undefined);
  });

  describe('the attack matrix', () => {
    const denied = (events: ChildEvent[]) => {
      const st = finalStatus(events);
      assert.equal(st.code, status.PERMISSION_DENIED, JSON.stringify(st));
      assert.equal(st.details, 'no identity issued');
    };

    test('token of pod Q presented by a process of pod P', async () => {
      const p = await pod(w);
      const q = await pod(w, { sa: 'admin' });
      denied(await callAs(w, { cgroup: p.cgroup }, ['--bearer', q.token]));
      denied(await callAs(w, { cgroup: p.cgroup, files: { [TOKEN_PATH]: q.token } }));
    });

    test('token with the default API audience', async () => {
      const p = await pod(w, { audiences: ['https://kubernetes.default.svc'] });
      denied(await callAs(w, { cgroup: p.cgroup, files: { [TOKEN_PATH]: p.token } }));
    });

    test('token bound to another node', async () => {
      const p = await pod(w, { node: 'node-b' });
      denied(await callAs(w, { cgroup: p.cgroup, files: { [TOKEN_PATH]: p.token } }));
    });

    test('expired token', async () => {
      const p = await pod(w, { expiresInSeconds: -3600 });
      denied(await callAs(w, { cgroup: p.cgroup, files: { [TOKEN_PATH]: p.token } }));
    });

    test('token of a non-service-account user', async () => {
      const p = await pod(w);
      const token = await w.api.mintUserToken({ username: 'alice', audiences: ['identity.l5d.io'] } as Parameters<
        FakeKubeApi['mintUserToken']
      >[0]);
      denied(await callAs(w, { cgroup: p.cgroup, files: { [TOKEN_PATH]: token } }));
    });

    test('namespace or service account that is not a DNS-1123 label', async () => {
      for (const bad of [{ ns: 'Emoji_Voto' }, { sa: 'Web.App' }]) {
        const p = await pod(w, bad);
        denied(await callAs(w, { cgroup: p.cgroup, files: { [TOKEN_PATH]: p.token } }));
      }
    });

    test('no token at all', async () => {
      const p = await pod(w);
      denied(await callAs(w, { cgroup: p.cgroup }));
    });

    test('process not in a pod', async () => {
      const p = await pod(w);
      denied(await callAs(w, { cgroup: hostCgroup(), files: { [TOKEN_PATH]: p.token } }, ['--bearer', p.token]));
    });

    test('PID reused after attestation', async () => {
      const p = await pod(w);
      let target = 0;
      w.api.onTokenReview = async () => {
        if (target) await w.proc.setStartTime(target, '1');
      };
      try {
        denied(
          await callAs(w, { cgroup: p.cgroup, files: { [TOKEN_PATH]: p.token } }, [], async (pid) => {
            target = pid;
          }),
        );
      } finally {
        w.api.onTokenReview = undefined;
      }
    });
  });
});

describe('an API server outage', () => {
  test('issued identities keep streaming and rotating; new callers get UNAVAILABLE, then succeed', async () => {
    const w = await startWorld({ svidTtlMs: 1_500, clockSkewMs: 0, minRefreshMs: 200 });
    try {
      const p = await pod(w);
      const streaming = startChild(['--socket', w.socketPath, '--wait-stdin', '--count', '6', '--timeout', '30000']);
      const ready = await streaming.waitFor((e) => e.event === 'ready');
      await w.proc.addProcess(ready.pid as number, { cgroup: p.cgroup, files: { [TOKEN_PATH]: p.token } });
      streaming.go();
      await streaming.waitFor((e) => e.event === 'data');

      await w.api.refuse();
      // Minting is local to the fake; only TokenReview needs the API. A token the agent has not
      // reviewed yet cannot be decided during the outage: UNAVAILABLE (retry), not a refusal.
      const q = await pod(w, { sa: 'other' });
      const newcomer = await callAs(w, { cgroup: p.cgroup }, ['--bearer', q.token]);
      assert.equal(finalStatus(newcomer).code, status.UNAVAILABLE);
      const other = await pod(w, { sa: 'fresh' });
      const unavailable = await callAs(w, { cgroup: other.cgroup, files: { [TOKEN_PATH]: other.token } });
      assert.equal(finalStatus(unavailable).code, status.UNAVAILABLE);

      const events = await streaming.done;
      const serials = events.filter((e) => e.event === 'data').map((e) => firstSvid(e).x509_svid.toString('base64'));
      assert.equal(new Set(serials).size, 6, 'the open stream kept rotating during the outage');

      await w.api.restore();
      const back = await callAs(w, { cgroup: other.cgroup, files: { [TOKEN_PATH]: other.token } });
      assert.equal(spiffeIdOf(back), 'spiffe://cluster.local/ns/emojivoto/sa/fresh');
    } finally {
      await stopWorld(w);
    }
  });
});
