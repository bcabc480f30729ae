/**
 * The node-service client over TLS, against the fake node service: the issuer's chain is checked
 * against the trust anchors in use and the configured server name, and a change of anchors takes
 * effect on the next call.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { type FakeNodeIssuer, startFakeNodeIssuer } from '../../test/fakes/node-issuer.js';
import { createTestCa, type TestCa } from '../../test/support/test-ca.js';
import { loadTestCredentials } from '../../test/support/test-credentials.js';
import { loadTrustAnchors, type TrustAnchors } from '../issuer/index.js';
import { createValueChannel, type ValueChannel } from '../value-channel.js';
import { createNodeIssuerClient, type NodeIssuerClient } from './node-client.js';
import { NodeServiceError } from './node-service-error.js';

const SERVER_NAME = 'linkerd-identity.linkerd.serviceaccount.identity.linkerd.cluster.local';
const POD = { namespace: 'emojivoto', serviceAccount: 'web', podUid: 'pod-1', node: 'node-a' };

describe('node-service client over TLS', () => {
  let ca: TestCa;
  let fake: FakeNodeIssuer;
  let anchors: ValueChannel<TrustAnchors>;
  let foreignAnchors: TrustAnchors;
  const reachability: boolean[] = [];
  const open: NodeIssuerClient[] = [];

  before(async () => {
    ca = await createTestCa();
    const credentials = await loadTestCredentials(ca, Date.now());
    const server = await ca.issueServer({ dnsNames: [SERVER_NAME] });
    fake = await startFakeNodeIssuer({
      issuer: credentials.issuer,
      agentToken: () => 'agent-token',
      agentNode: 'node-a',
      // The full chain in the handshake, as the issuer sends it.
      tls: { keyPem: server.keyPem, certPem: server.certPem },
    });
    fake.pods.set('workload-token', POD);
    anchors = createValueChannel(credentials.anchors);
    foreignAnchors = await loadTrustAnchors('/foreign.pem', { now: Date.now(), readFile: async () => Buffer.from(ca.foreignRoot.pem) });
  });
  after(async () => {
    for (const c of open) c.close();
    await fake.stop();
  });

  function client(serverName = SERVER_NAME): NodeIssuerClient {
    const c = createNodeIssuerClient({
      issuer: { address: fake.address, serverName, plaintext: false, agentTokenPath: '/agent-token' },
      anchors: anchors.receiver,
      readToken: async () => 'agent-token\n',
      onReachability: (r) => reachability.push(r),
      callTimeoutMs: 5_000,
    });
    open.push(c);
    return c;
  }

  const review = (c: NodeIssuerClient) => c.reviewWorkload({ token: 'workload-token', podUid: 'pod-1' });

  test('verifies the issuer against the trust anchors for --issuer-server-name, and sends the agent token', async () => {
    const reviewed = await review(client());
    assert.deepEqual(reviewed, { namespace: 'emojivoto', serviceAccount: 'web', podUid: 'pod-1', podName: 'web-abc', nodeName: 'node-a' });
    assert.equal(fake.calls.at(-1)?.authorization, 'Bearer agent-token');
    assert.equal(reachability.at(-1), true);
  });

  test('another server name is not accepted: the call fails UNAVAILABLE and the issuer counts as unreachable', async () => {
    await assert.rejects(
      review(client('issuer.example.org')),
      (err: unknown) => err instanceof NodeServiceError && err.status === status.UNAVAILABLE,
    );
    assert.equal(reachability.at(-1), false);
  });

  test('anchors that do not hold its root are not accepted, and new anchors apply to the next call', async () => {
    const c = client();
    anchors.sink.set(foreignAnchors);
    try {
      await assert.rejects(review(c), (err: unknown) => err instanceof NodeServiceError && err.status === status.UNAVAILABLE);
    } finally {
      anchors.sink.set((await loadTestCredentials(ca, Date.now())).anchors);
    }
    assert.equal((await review(c)).podUid, 'pod-1');
  });

  test('an issuer refusal is the issuer answering: reachable, and its status kept', async () => {
    await assert.rejects(
      client().reviewWorkload({ token: 'unknown', podUid: 'pod-1' }),
      (err: unknown) => err instanceof NodeServiceError && err.status === status.PERMISSION_DENIED && err.method === 'ReviewWorkload',
    );
    assert.equal(reachability.at(-1), true);
  });

  test('an agent token that cannot be read fails the call before it is made', async () => {
    const c = createNodeIssuerClient({
      issuer: { address: fake.address, serverName: SERVER_NAME, plaintext: false, agentTokenPath: '/nowhere/token' },
      anchors: anchors.receiver,
    });
    open.push(c);
    await assert.rejects(review(c), {
      code: 'CREDENTIALS_UNREADABLE',
      message: /cannot read the agent token \/nowhere\/token: no such file or directory/,
    });
  });
});
