/**
 * The remote issuing port without a network: a fake client records what the port sends and
 * answers with certificates a real signer made.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Attestation } from '../attestor/index.js';
import { type WorkloadIdentity, workloadIdentityFor } from '../identity.js';
import {
  createCsr,
  createIssuerCa,
  createTrustAnchor,
  createX509SvidSigner,
  generateWorkloadKey,
  type IssuerCredentials,
  loadIssuer,
  loadTrustAnchors,
  parseCsr,
  verifyRenewalProof,
} from '../issuer/index.js';
import { silentLogger } from '../log.js';
import { createValueChannel } from '../value-channel.js';
import type { SignedX509SvidReply, SignX509SvidCall } from './node-client.js';
import { createRemoteX509Issuer } from './remote-x509-issuer.js';

const naming = { trustDomain: 'cluster.local', identityDomain: 'identity.linkerd.cluster.local' };
const web = workloadIdentityFor({ type: 'serviceaccount', namespace: 'emojivoto', name: 'web' }, naming);

async function signerWorld() {
  const anchor = createTrustAnchor();
  const ca = createIssuerCa({ anchor });
  const files: Record<string, string> = {
    '/a.pem': anchor.certificatePem,
    '/i/tls.crt': ca.certificatePem,
    '/i/tls.key': ca.privateKeyPem,
  };
  const readFile = async (path: string) => Buffer.from(files[path] ?? '');
  const anchors = await loadTrustAnchors('/a.pem', { now: Date.now(), readFile });
  const issuer: IssuerCredentials = await loadIssuer('/i', anchors, { now: Date.now(), readFile });
  return createX509SvidSigner({
    issuer: createValueChannel<IssuerCredentials | undefined>(issuer).receiver,
    clock: { now: () => Date.now() },
    lifetimeMs: 3_600_000,
    clockSkewMs: 0,
    logger: silentLogger(),
  });
}

const attested = (podUid: string, token: string, pid = 100): Attestation => ({
  account: web.account,
  attestor: 'k8s',
  podUid,
  token,
  tokenSource: 'file',
  caller: { peer: { pid, uid: 0, gid: 0 }, startTime: '1', connectionId: `c${pid}` },
});

/** A client that signs what it is sent for `as` (default: the identity asked for). */
async function fakeClient(as?: WorkloadIdentity) {
  const signer = await signerWorld();
  const calls: SignX509SvidCall[] = [];
  let serial = 0;
  return {
    calls,
    client: {
      async signX509Svid(call: SignX509SvidCall): Promise<SignedX509SvidReply> {
        calls.push(call);
        const identity = as ?? web;
        const signed = signer.sign(identity, parseCsr(call.csr).publicKeySpki);
        return { ...signed, ticket: Buffer.from(`ticket-${++serial}`), spiffeId: identity.spiffeId };
      },
    },
  };
}

test('a first issuance sends a CSR for the new key and the caller’s evidence, and keeps the ticket', async () => {
  const { client, calls } = await fakeClient();
  const port = createRemoteX509Issuer({ client, freshToken: async () => assert.fail('not on a first issuance') });
  const key = generateWorkloadKey();
  const issued = await port.issueX509Svid({ identity: web, key, attestation: attested('pod-1', 'token-1'), reason: 'first-issuance' });
  const csr = parseCsr(calls[0]?.csr ?? Buffer.alloc(0));
  assert.ok(csr.verifySignature());
  assert.deepEqual(csr.publicKeySpki, key.publicKeySpki);
  assert.deepEqual(calls[0]?.workload, { token: 'token-1', podUid: 'pod-1' });
  assert.equal(calls[0]?.renewal, undefined);
  assert.equal(Buffer.from(issued.renewalTicket ?? '', 'base64').toString(), 'ticket-1');
  assert.ok(issued.notAfter > Date.now() && issued.serialHex.length > 0);
});

test('a rotation sends fresh evidence from the first live holder and a proof the current key signed', async () => {
  const { client, calls } = await fakeClient();
  const fresh = new Map([[200, 'token-200-rotated']]);
  const port = createRemoteX509Issuer({ client, freshToken: async (a) => fresh.get(a.caller?.peer.pid ?? 0) });
  const first = { key: generateWorkloadKey(), attestation: attested('pod-1', 'token-1', 100) };
  const issued = await port.issueX509Svid({ identity: web, ...first, reason: 'first-issuance' });
  const key = generateWorkloadKey();
  const gone = attested('pod-3', 'token-3', 300);
  const live = attested('pod-2', 'token-2', 200);
  await port.issueX509Svid({
    identity: web,
    key,
    attestation: gone,
    reason: 'rotation',
    previous: {
      leaf: issued.leaf,
      key: first.key,
      notAfter: issued.notAfter,
      ...(issued.renewalTicket ? { renewalTicket: issued.renewalTicket } : {}),
    },
    holders: [gone, live],
  });
  const rotation = calls[1];
  assert.deepEqual(
    rotation?.workload,
    { token: 'token-200-rotated', podUid: 'pod-2' },
    'the newest holder that is still alive, its token read again',
  );
  assert.deepEqual(rotation?.renewal?.ticket, Buffer.from('ticket-1'));
  assert.deepEqual(rotation?.renewal?.certificate, issued.leaf);
  const csr = rotation?.csr ?? Buffer.alloc(0);
  assert.ok(verifyRenewalProof(first.key.privateKey, Buffer.from('ticket-1'), csr, rotation?.renewal?.signature ?? Buffer.alloc(0)));
  assert.ok(!verifyRenewalProof(key.privateKey, Buffer.from('ticket-1'), csr, rotation?.renewal?.signature ?? Buffer.alloc(0)));
});

test('with no live holder the rotation goes on the ticket alone (the issuer decides whether that is enough)', async () => {
  const { client, calls } = await fakeClient();
  const port = createRemoteX509Issuer({ client, freshToken: async () => undefined });
  const first = { key: generateWorkloadKey(), attestation: attested('pod-1', 'token-1') };
  const issued = await port.issueX509Svid({ identity: web, ...first, reason: 'first-issuance' });
  await port.issueX509Svid({
    identity: web,
    key: generateWorkloadKey(),
    attestation: first.attestation,
    reason: 'rotation',
    previous: { leaf: issued.leaf, key: first.key, notAfter: issued.notAfter, renewalTicket: issued.renewalTicket ?? '' },
    holders: [first.attestation],
  });
  assert.equal(calls[1]?.workload, undefined);
  assert.ok(calls[1]?.renewal);
});

test('an answer for another identity or another key is not served', async () => {
  const other = workloadIdentityFor({ type: 'serviceaccount', namespace: 'emojivoto', name: 'admin' }, naming);
  const { client } = await fakeClient(other);
  const port = createRemoteX509Issuer({ client, freshToken: async () => undefined });
  const request = { identity: web, key: generateWorkloadKey(), attestation: attested('pod-1', 't'), reason: 'first-issuance' } as const;
  await assert.rejects(port.issueX509Svid(request), { code: 'ISSUER_CALL_FAILED' });
  // An issuer that signs a key other than the one in the CSR it was sent.
  const honest = await fakeClient();
  const swapped = createRemoteX509Issuer({
    client: {
      signX509Svid: (call) => honest.client.signX509Svid({ ...call, csr: createCsr({ privateKey: generateWorkloadKey().privateKey }) }),
    },
    freshToken: async () => undefined,
  });
  await assert.rejects(swapped.issueX509Svid(request), { code: 'ISSUER_CALL_FAILED', message: /issuer SignX509SVID failed/ });
});

test('a caller attested without a token has no evidence to send', async () => {
  const { client } = await fakeClient();
  const port = createRemoteX509Issuer({ client, freshToken: async () => undefined });
  const { token: _none, ...noToken } = attested('pod-1', 't');
  await assert.rejects(port.issueX509Svid({ identity: web, key: generateWorkloadKey(), attestation: noToken, reason: 'first-issuance' }), {
    code: 'NO_IDENTITY',
  });
});
