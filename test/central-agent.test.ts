/**
 * A node agent in central mode against the fake node service: what it sends the issuer (a CSR
 * for the key it made, the workload's token and pod UID, its own token read again for each call)
 * and what a workload sees of each issuer answer — refusals as PERMISSION_DENIED, everything else
 * as UNAVAILABLE, never INVALID_ARGUMENT.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { parseCsr, verifyRenewalProof } from '../src/issuer/index.js';
import { addPod, type CentralWorld, holdStream, startCentralWorld } from './support/central-world.js';
import { type ChildEvent, finalStatus, firstData, firstSvid } from './support/child.js';
import { callAs, spiffeIdOf, TOKEN_PATH } from './support/k8s-world.js';

describe('a node agent using the central issuer', () => {
  let w: CentralWorld;
  before(async () => {
    w = await startCentralWorld();
  });
  after(() => w.close());

  const callsOf = (method: string) => w.issuer.calls.filter((c) => c.method === method);

  test('a pod gets an SVID the issuer signed for the key the agent made, on the evidence of its own token', async () => {
    const pod = addPod(w);
    const events = await callAs(w, pod.process);
    assert.equal(spiffeIdOf(events), 'spiffe://cluster.local/ns/emojivoto/sa/web');
    const svid = firstSvid(firstData(events));
    const leaf = new X509Certificate(svid.x509_svid);
    const key = createPrivateKey({ key: svid.x509_svid_key, format: 'der', type: 'pkcs8' });
    assert.ok(leaf.checkPrivateKey(key), 'the leaf certifies the key the workload got');
    const review = callsOf('ReviewWorkload').at(-1);
    assert.deepEqual(review?.request.workload, { token: pod.token, pod_uid: pod.uid });
    const sign = callsOf('SignX509SVID').at(-1);
    assert.deepEqual(sign?.request.workload, { token: pod.token, pod_uid: pod.uid });
    assert.equal(sign?.request.renewal, null, 'a first issuance carries no renewal proof');
    const csr = parseCsr(sign?.request.csr as Buffer);
    assert.ok(csr.verifySignature());
    assert.ok(csr.publicKey.equals(createPublicKey(key)), 'the CSR is for the workload key');
  });

  test("every call carries the agent's own token, read again after the kubelet rotated it", async () => {
    const before = w.issuer.calls.length;
    await callAs(w, addPod(w, { sa: 'api' }).process);
    const token = await w.rotateAgentToken();
    assert.equal(spiffeIdOf(await callAs(w, addPod(w, { sa: 'db' }).process)), 'spiffe://cluster.local/ns/emojivoto/sa/db');
    const used = w.issuer.calls.slice(before).map((c) => c.authorization);
    assert.ok(used.every((a) => a?.startsWith('Bearer ')));
    assert.equal(used.at(-1), `Bearer ${token}`);
    assert.notEqual(used[0], used.at(-1));
  });

  describe('what a workload sees of the issuer', () => {
    const expectStatus = (events: ChildEvent[], code: status, details: string) => {
      const st = finalStatus(events);
      assert.deepEqual({ code: st.code, details: st.details }, { code, details }, JSON.stringify(st));
    };

    test('a token bound to another node: PERMISSION_DENIED', async () => {
      expectStatus(await callAs(w, addPod(w, { node: 'node-b' }).process), status.PERMISSION_DENIED, 'no identity issued');
    });

    const transient: Array<[string, status]> = [
      ['a malformed request (INVALID_ARGUMENT, fatal to clients)', status.INVALID_ARGUMENT],
      ['rate-limited (RESOURCE_EXHAUSTED)', status.RESOURCE_EXHAUSTED],
      ["the agent's own token refused (UNAUTHENTICATED)", status.UNAUTHENTICATED],
      ['the API server unreachable (UNAVAILABLE)', status.UNAVAILABLE],
      ['a failure of its own (INTERNAL)', status.INTERNAL],
    ];
    for (const [name, code] of transient) {
      test(`${name}: UNAVAILABLE, which clients retry`, async () => {
        w.issuer.failWith = { code, details: 'from the issuer' };
        try {
          expectStatus(await callAs(w, addPod(w, { sa: `sa-${code}` }).process), status.UNAVAILABLE, 'workload attestation failed');
        } finally {
          w.issuer.failWith = undefined;
        }
      });
    }

    test('a signing refusal after a good review: PERMISSION_DENIED; a signing failure: UNAVAILABLE', async () => {
      // Reviewed once (the review is cached), then the issuer refuses to sign, then fails to.
      const denied = addPod(w, { sa: 'denied' });
      assert.equal(spiffeIdOf(await callAs(w, denied.process)), 'spiffe://cluster.local/ns/emojivoto/sa/denied');
      w.issuer.failWith = { code: status.PERMISSION_DENIED, details: 'pod deleted' };
      try {
        // The cached review lets attestation pass: the signing refusal is what the workload sees.
        expectStatus(await callAs(w, denied.process), status.PERMISSION_DENIED, 'no identity issued');
        w.issuer.failWith = { code: status.INVALID_ARGUMENT, details: 'bad csr' };
        expectStatus(await callAs(w, denied.process), status.UNAVAILABLE, 'issuer unavailable');
      } finally {
        w.issuer.failWith = undefined;
      }
    });
  });

  test('a rotation sends the token read again from the live caller, and a proof by the current key; on the ticket alone while the API is down', async () => {
    const pod = addPod(w, { sa: 'rotating' });
    const held = await holdStream(w, pod.process, 3);
    const svidAt = (i: number) => firstSvid(held.events.filter((e) => e.event === 'data')[i]);
    // The kubelet rotated the pod's token.
    const rotated = `${pod.token.slice(0, -3)}new`;
    w.issuer.pods.set(rotated, w.issuer.pods.get(pod.token) as NonNullable<ReturnType<typeof w.issuer.pods.get>>);
    await w.proc.writeFileInRoot(held.pid, TOKEN_PATH, rotated);
    w.agent.running.workloadApi.store.reissueAll(0);
    await held.waitFor((e) => e.event === 'data' && held.events.filter((d) => d.event === 'data').length === 2);
    const rotation = callsOf('SignX509SVID').at(-1)?.request as { csr: Buffer; workload: unknown; renewal: Record<string, Buffer> };
    assert.deepEqual(rotation.workload, { token: rotated, pod_uid: pod.uid });
    const firstLeaf = new X509Certificate(svidAt(0).x509_svid);
    assert.deepEqual(rotation.renewal.certificate, firstLeaf.raw);
    assert.ok(
      verifyRenewalProof(firstLeaf.publicKey, rotation.renewal.ticket as Buffer, rotation.csr, rotation.renewal.signature as Buffer),
    );

    // The API server is down (the issuer renews on ticket and proof), and the caller has no token to read.
    w.issuer.apiDown = true;
    await w.proc.writeFileInRoot(held.pid, TOKEN_PATH, '');
    try {
      w.agent.running.workloadApi.store.reissueAll(0);
      const events = await held.done;
      assert.equal(events.filter((e) => e.event === 'data').length, 3);
      const renewal = callsOf('SignX509SVID').at(-1)?.request;
      assert.equal(renewal?.workload, null, 'no evidence to send');
      assert.ok(renewal?.renewal);
      assert.equal(svidAt(2).spiffe_id, 'spiffe://cluster.local/ns/emojivoto/sa/rotating');
    } finally {
      w.issuer.apiDown = false;
    }
  });
});
