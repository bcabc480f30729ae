/**
 * The attack matrix of issue 3 at attestor level: a real caller PID whose /proc fixture places
 * it in pod P, a real HTTPS fake API that really verifies tokens, and the production validator.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { type FakeKubeApi, startFakeKubeApi } from '../../test/fakes/kube-api.js';
import type { ServiceAccountTokenSpec } from '../../test/fakes/kube-token-issuer.js';
import { type CapturedLogger, captureLogger } from '../../test/support/log-capture.js';
import { createProcFixture, hostCgroup, type ProcFixture, podCgroup, randomContainerId } from '../../test/support/proc-fixture.js';
import type { AgentErrorCode } from '../errors.js';
import { isAgentError } from '../errors.js';
import {
  createK8sAttestor,
  K8S_ATTESTOR_NAME,
  LOG_MESSAGES,
  PREPARED_TOKEN_TTL_MS,
  REFUSAL_REASONS,
  UNAVAILABLE_REASONS,
} from './k8s-attestor.js';
import { createKubeApi, loadKubeConfig } from './kube-client.js';
import { createProcReader, type ProcReader } from './proc.js';
import { createTokenReviewValidator, DEFAULT_TOKEN_AUDIENCE, type TokenReviewValidator } from './token-review.js';
import { DEFAULT_TOKEN_PATHS } from './token-source.js';
import type { Attestation, AttestRequest, WorkloadAttestor } from './types.js';

const PID = process.pid;
const NODE = 'node-1';
const TOKEN_PATH = DEFAULT_TOKEN_PATHS[0] as string;
const POD_P = { name: 'web-0', uid: '3f1c2b4a-5d6e-4f70-8a9b-0c1d2e3f4a5b' };
const POD_Q = { name: 'vote-0', uid: '9e8d7c6b-5a49-4382-a716-f5e4d3c2b1a0' };
const CONTAINER = randomContainerId();

describe('k8s attestor', () => {
  let api: FakeKubeApi;
  let fixture: ProcFixture;
  let validator: TokenReviewValidator;
  let logs: CapturedLogger;
  let attestor: WorkloadAttestor;

  before(async () => {
    api = await startFakeKubeApi();
    fixture = await createProcFixture();
    logs = captureLogger();
    validator = createTokenReviewValidator({
      api: createKubeApi(await loadKubeConfig({ kubeconfigPath: api.kubeconfigPath })),
      logger: logs.logger,
      timeoutMs: 300,
    });
    attestor = createK8sAttestor({ procRoot: fixture.root, validator, nodeName: NODE, logger: logs.logger });
  });
  after(async () => {
    validator.close();
    await api.close();
    await fixture.cleanup();
  });
  afterEach(async () => {
    api.onTokenReview = undefined;
    await api.restore();
  });

  /** A token as kube issues it for Linkerd's projected volume: pod P, this node, audience identity.l5d.io. */
  const mint = (overrides: Partial<ServiceAccountTokenSpec> = {}) =>
    api.mintServiceAccountToken({
      namespace: 'emojivoto',
      serviceAccount: 'web',
      pod: POD_P,
      node: { name: NODE },
      audiences: [DEFAULT_TOKEN_AUDIENCE],
      ...overrides,
    });

  /** Places the caller (this process) in pod P, optionally with a projected token file. */
  async function callerInPodP(tokenFile?: string): Promise<void> {
    await fixture.addProcess(PID, { cgroup: podCgroup(POD_P.uid, CONTAINER), files: tokenFile ? { [TOKEN_PATH]: `${tokenFile}\n` } : {} });
  }

  const request = (bearerToken?: string): AttestRequest => ({
    caller: { peer: { pid: PID, uid: 1000, gid: 1000 }, startTime: '1', connectionId: 'c1' },
    ...(bearerToken !== undefined ? { bearerToken } : {}),
  });

  /** Attests and asserts the refusal: code, one log entry with the reason, no token in the logs. */
  async function expectRefused(req: AttestRequest, code: AgentErrorCode, reason: string, secret?: string): Promise<void> {
    const before = logs.entries.length;
    await assert.rejects(attestor.attest(req), (err: unknown) => isAgentError(err) && err.code === code);
    const entries = logs.entries.slice(before).filter((e) => e.subsystem === 'k8s-attestor' && e.msg !== LOG_MESSAGES.attesting);
    assert.equal(entries.length, 1, 'one log entry per refusal (beside the debug line that the call began)');
    const expectedMessage = code === 'NO_IDENTITY' ? LOG_MESSAGES.refused : LOG_MESSAGES.unavailable;
    assert.equal(entries[0]?.msg, expectedMessage);
    assert.equal(entries[0]?.reason, reason);
    if (secret) assert.ok(!logs.text().includes(secret), 'the token is never logged');
  }

  /** The attestation keeps the token that proved it, as evidence for a remote issuer. */
  const expectAttested = (attestation: Attestation, token: string, tokenSource: 'bearer' | 'file', message?: string): void =>
    assert.deepEqual(
      attestation,
      {
        account: { type: 'serviceaccount', namespace: 'emojivoto', name: 'web' },
        attestor: K8S_ATTESTOR_NAME,
        podUid: POD_P.uid,
        token,
        tokenSource,
        caller: request().caller,
      },
      message,
    );

  test('happy path: the projected token file, no token on the wire (the Linkerd proxy)', async () => {
    const token = await mint();
    await callerInPodP(token);
    expectAttested(await attestor.attest(request()), token, 'file');
  });

  test('happy path: a presented bearer token of its own pod', async () => {
    await callerInPodP();
    const token = await mint();
    expectAttested(await attestor.attest(request(token)), token, 'bearer');
  });

  test('a token of pod Q presented by a process of pod P', async () => {
    await callerInPodP(await mint());
    const stolen = await mint({ pod: POD_Q });
    await expectRefused(request(stolen), 'NO_IDENTITY', REFUSAL_REASONS.podMismatch, stolen);
  });

  test("pod Q's token planted in pod P's token file", async () => {
    const stolen = await mint({ pod: POD_Q });
    await callerInPodP(stolen);
    await expectRefused(request(), 'NO_IDENTITY', REFUSAL_REASONS.podMismatch, stolen);
  });

  test('a token with the default API audience', async () => {
    const token = await mint({ audiences: undefined });
    await callerInPodP(token);
    await expectRefused(request(), 'NO_IDENTITY', REFUSAL_REASONS.tokenInvalid, token);
  });

  test('a token bound to another node', async () => {
    const token = await mint({ node: { name: 'node-2' } });
    await callerInPodP(token);
    await expectRefused(request(), 'NO_IDENTITY', REFUSAL_REASONS.nodeMismatch, token);
  });

  test('an expired token', async () => {
    const token = await mint({ expiresInSeconds: -3600 });
    await callerInPodP(token);
    await expectRefused(request(), 'NO_IDENTITY', REFUSAL_REASONS.tokenInvalid, token);
  });

  test('a token of a user that is not a service account', async () => {
    await callerInPodP();
    const jane = await api.mintUserToken({ username: 'jane@example.com', audiences: [DEFAULT_TOKEN_AUDIENCE] });
    await expectRefused(request(jane), 'NO_IDENTITY', REFUSAL_REASONS.tokenInvalid, jane);
    // Well-formed system:<type>:<ns>:<name> and even a pod-uid extra, but not a service account.
    const node = await api.mintUserToken({
      username: 'system:node:kube-system:node-1',
      audiences: [DEFAULT_TOKEN_AUDIENCE],
      extra: { 'authentication.kubernetes.io/pod-uid': [POD_P.uid] },
    });
    await expectRefused(request(node), 'NO_IDENTITY', REFUSAL_REASONS.notServiceAccount, node);
  });

  test('a namespace or service account that is not a DNS-1123 label', async () => {
    await callerInPodP();
    for (const token of [await mint({ namespace: 'Emoji_Voto' }), await mint({ serviceAccount: 'web.v2' })]) {
      await expectRefused(request(token), 'NO_IDENTITY', REFUSAL_REASONS.tokenInvalid, token);
    }
  });

  test('a token not bound to a pod', async () => {
    await callerInPodP();
    const token = await mint({ pod: undefined });
    await expectRefused(request(token), 'NO_IDENTITY', REFUSAL_REASONS.tokenNotBoundToPod, token);
  });

  test('a token of a deleted pod', async () => {
    const gone = { name: 'web-old', uid: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee' };
    const token = await mint({ pod: gone });
    api.deletePod(gone.uid);
    await fixture.addProcess(PID, { cgroup: podCgroup(gone.uid, CONTAINER), files: { [TOKEN_PATH]: token } });
    await expectRefused(request(), 'NO_IDENTITY', REFUSAL_REASONS.tokenInvalid, token);
  });

  test('no token at all', async () => {
    await callerInPodP();
    await expectRefused(request(), 'NO_IDENTITY', REFUSAL_REASONS.noToken);
  });

  test('a process not in a pod, even with a valid token', async () => {
    const token = await mint();
    await fixture.addProcess(PID, { cgroup: hostCgroup(), files: { [TOKEN_PATH]: token } });
    const before = api.counts.tokenReviews;
    await expectRefused(request(token), 'NO_IDENTITY', REFUSAL_REASONS.notInPod, token);
    assert.equal(api.counts.tokenReviews, before, 'no review for a caller outside a pod');
  });

  test('cgroups naming two pods', async () => {
    await fixture.addProcess(PID, { cgroup: `${podCgroup(POD_P.uid, CONTAINER)}1:cpu:/kubepods/pod${POD_Q.uid}/${CONTAINER}\n` });
    await expectRefused(request(await mint()), 'NO_IDENTITY', REFUSAL_REASONS.cgroupConflict);
  });

  test('a token file that is not a regular file', async () => {
    await callerInPodP('placeholder');
    const hostPath = join(fixture.root, String(PID), 'root', TOKEN_PATH);
    await rm(hostPath);
    execFileSync('mkfifo', [hostPath]);
    await expectRefused(request(), 'NO_IDENTITY', REFUSAL_REASONS.tokenFileRejected);
  });

  test('a caller whose process is gone', async () => {
    await fixture.removeProcess(PID);
    await expectRefused(request(await mint()), 'NO_IDENTITY', REFUSAL_REASONS.processGone);
  });

  test('API server down: ATTESTATION_UNAVAILABLE, then success once it is back, same attestor', async () => {
    const token = await mint();
    await callerInPodP(token);
    await api.refuse();
    await expectRefused(request(), 'ATTESTATION_UNAVAILABLE', UNAVAILABLE_REASONS.apiUnavailable, token);
    await api.restore();
    api.fail(503);
    await expectRefused(request(), 'ATTESTATION_UNAVAILABLE', UNAVAILABLE_REASONS.apiUnavailable, token);
    api.hang();
    await expectRefused(request(), 'ATTESTATION_UNAVAILABLE', UNAVAILABLE_REASONS.apiUnavailable, token);
    await api.restore();
    expectAttested(await attestor.attest(request()), token, 'file');
  });

  test('/proc unreadable: ATTESTATION_UNAVAILABLE', async () => {
    await callerInPodP();
    await rm(join(fixture.root, String(PID), 'cgroup'));
    await mkdir(join(fixture.root, String(PID), 'cgroup'));
    await expectRefused(request(await mint()), 'ATTESTATION_UNAVAILABLE', UNAVAILABLE_REASONS.procUnreadable);
  });

  test('the world changing during the TokenReview is visible to the start-time re-check', async () => {
    // The agent re-reads the start time after attest(); a PID recycled mid-review must show.
    const token = await mint();
    await callerInPodP(token);
    const reader = createProcReader({ procRoot: fixture.root });
    const startTime = await reader.readStartTime(PID);
    api.onTokenReview = () => fixture.setStartTime(PID, String(Number(startTime) + 1));
    expectAttested(await attestor.attest(request()), token, 'file');
    assert.notEqual(await reader.readStartTime(PID), startTime);
  });

  test('prepare, at accept, starts the review the call then finds done; the call still decides', async () => {
    const token = await mint();
    await callerInPodP(token);
    const before = { reviews: api.counts.tokenReviews, logs: logs.entries.length };
    await attestor.prepare?.(request().caller);
    assert.equal(api.counts.tokenReviews, before.reviews + 1);
    assert.equal(logs.entries.length, before.logs, 'prepare logs nothing');
    expectAttested(await attestor.attest(request()), token, 'file');
    assert.equal(api.counts.tokenReviews, before.reviews + 1, 'the call reused the review');
  });

  test("a refusal prepare met is the call's too, reviewed once; the next call is reviewed afresh", async () => {
    const token = await mint({ audiences: ['other'] });
    await callerInPodP(token);
    await fixture.setStartTime(PID, '1');
    const before = api.counts.tokenReviews;
    await attestor.prepare?.(request().caller);
    await expectRefused(request(), 'NO_IDENTITY', REFUSAL_REASONS.tokenInvalid, token);
    assert.equal(api.counts.tokenReviews, before + 1, 'the call took the review prepare made');
    await expectRefused(request(), 'NO_IDENTITY', REFUSAL_REASONS.tokenInvalid, token);
    assert.equal(api.counts.tokenReviews, before + 2, 'a refusal is not kept: a later call is reviewed again');
  });

  test('a review the API could not make at accept is made again by the call', async (t) => {
    t.after(() => api.restore());
    const token = await mint();
    await callerInPodP(token);
    await fixture.setStartTime(PID, '1');
    api.fail(503);
    await attestor.prepare?.(request().caller);
    await api.restore();
    const before = api.counts.tokenReviews;
    expectAttested(await attestor.attest(request()), token, 'file');
    assert.equal(api.counts.tokenReviews, before + 1, 'reviewed again');
  });

  test('the call does not take a review prepare made for another pod', async () => {
    const token = await mint();
    await fixture.addProcess(PID, { cgroup: podCgroup(POD_Q.uid, CONTAINER), files: { [TOKEN_PATH]: token }, startTime: '1' });
    const uncached = createTokenReviewValidator({
      api: createKubeApi(await loadKubeConfig({ kubeconfigPath: api.kubeconfigPath })),
      logger: logs.logger,
      cacheTtlMs: 0,
    });
    const fresh = createK8sAttestor({ procRoot: fixture.root, validator: uncached, nodeName: NODE, logger: logs.logger });
    try {
      const before = api.counts.tokenReviews;
      await fresh.prepare?.(request().caller);
      await fixture.setCgroup(PID, podCgroup(POD_P.uid, CONTAINER));
      expectAttested(await fresh.attest(request()), token, 'file');
      assert.equal(api.counts.tokenReviews, before + 2, 'reviewed again for the pod the call is in');
    } finally {
      uncached.close();
    }
  });

  test("the call takes the token file prepare read, for a moment, and only its own process's", async () => {
    let now = 0;
    const timed = createK8sAttestor({ procRoot: fixture.root, validator, nodeName: NODE, logger: logs.logger, clock: { now: () => now } });
    const [first, second, third] = [await mint(), await mint(), await mint()];
    await callerInPodP(first);
    await fixture.setStartTime(PID, '1');
    const caller = request().caller;
    await timed.prepare?.(caller);
    await callerInPodP(second);
    await fixture.setStartTime(PID, '1');
    expectAttested(await timed.attest(request()), first, 'file');
    expectAttested(await timed.attest(request()), second, 'file', 'taken once: the next call reads');

    await timed.prepare?.(caller);
    await callerInPodP(third);
    await fixture.setStartTime(PID, '1');
    now += PREPARED_TOKEN_TTL_MS + 1;
    expectAttested(await timed.attest(request()), third, 'file', 'too old: read again');

    await timed.prepare?.(caller);
    await fixture.setStartTime(PID, '2');
    const otherProcess = { ...request(), caller: { ...request().caller, startTime: '2' } };
    await callerInPodP(second);
    await fixture.setStartTime(PID, '2');
    assert.equal((await timed.attest(otherProcess)).token, second, 'a read of another process (same pid) is not taken');

    await timed.prepare?.(caller);
    expectAttested(await timed.attest(request(first)), first, 'bearer');
  });

  test('prepare never rejects, and reviews nothing for a caller outside a pod or without a token', async () => {
    const caller = request().caller;
    const before = api.counts.tokenReviews;
    await fixture.addProcess(PID, { cgroup: hostCgroup(), files: { [TOKEN_PATH]: await mint() } });
    await attestor.prepare?.(caller);
    await callerInPodP();
    await attestor.prepare?.(caller);
    assert.equal(api.counts.tokenReviews, before);
    await fixture.removeProcess(PID);
    await attestor.prepare?.(caller);
    await callerInPodP(await mint({ audiences: ['other'] }));
    await attestor.prepare?.(caller);
    await api.refuse();
    await callerInPodP(await mint());
    await attestor.prepare?.(caller);
  });

  test('prepare opens nothing in the root of a caller outside a pod (its filesystem may never answer)', async () => {
    await fixture.addProcess(PID, { cgroup: hostCgroup(), files: { [TOKEN_PATH]: await mint() } });
    const reader = createProcReader({ procRoot: fixture.root });
    const opened: string[] = [];
    const proc: ProcReader = {
      ...reader,
      readFileInRoot(pid, path) {
        opened.push(path);
        return reader.readFileInRoot(pid, path);
      },
    };
    const counting = createK8sAttestor({ proc, validator, nodeName: NODE, logger: logs.logger });
    await counting.prepare?.(request().caller);
    assert.deepEqual(opened, []);
  });

  test('construction: bad token paths and empty node name are TypeErrors', () => {
    assert.throws(() => createK8sAttestor({ validator, logger: logs.logger, tokenPaths: ['relative'] }), TypeError);
    assert.throws(() => createK8sAttestor({ validator, logger: logs.logger, nodeName: '' }), TypeError);
  });
});
