/**
 * The central issuer's node service end to end (docs/central-issuer.md): a real issuer on a TLS
 * port, the strict fake Kubernetes API, agents and workloads with projected tokens bound to pods
 * on nodes. Who may get what, and the status code of every refusal.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { type ServiceError, status } from '@grpc/grpc-js';
import { decodeJwt } from 'jose';
import type { RunningIssuer } from '../src/server/index.js';
import { type CentralWorld, createCentralWorld, SERVER_NAME } from './support/central-issuer.js';
import { captureLogger } from './support/log-capture.js';
import { callWithoutAlpn, createNodeClient, type NodeClient, newWorkloadKey } from './support/node-client.js';

/** Asserts `promise` rejects with gRPC `code` and details matching `details`. */
async function refused(promise: Promise<unknown>, code: status, details: RegExp): Promise<void> {
  await assert.rejects(promise, (err: ServiceError) => {
    assert.equal(status[err.code], status[code], err.details);
    assert.match(err.details, details);
    return true;
  });
}

describe('the node service, API server up', () => {
  let world: CentralWorld;
  let issuer: RunningIssuer;
  let client: NodeClient;
  let n1: string;
  const log = captureLogger('debug');

  before(async () => {
    world = await createCentralWorld();
    issuer = await world.start({ jwtKey: world.jwtKeyPath }, log.logger);
    client = createNodeClient({ port: issuer.port, ca: world.ca.root.pem, serverName: SERVER_NAME });
    n1 = await world.agentToken('n1');
  });
  after(async () => {
    client.close();
    await world.close();
  });

  test('a workload on the agent’s node gets an X.509-SVID for its account, with a ticket, and a JWT-SVID', async () => {
    const web = await world.workload('n1');
    const key = newWorkloadKey();
    const svid = await client.signX509Svid(n1, { csr: key.csr, workload: web.evidence });
    assert.equal(svid.spiffe_id, 'spiffe://cluster.local/ns/emojivoto/sa/web');
    const leaf = new X509Certificate(svid.leaf);
    assert.ok(leaf.checkPrivateKey(key.privateKey), 'the leaf certifies the key of the CSR');
    assert.deepEqual(svid.intermediates, [world.ca.intermediate.der]);
    assert.equal(Number(svid.not_after_unix_ms), world.now + 3_600_000 + 20_000);
    assert.ok(svid.ticket.length > 64);
    const jwt = await client.mintJwtSvid(n1, { workload: web.evidence, audience: ['spire-server'] });
    assert.equal(jwt.spiffe_id, 'spiffe://cluster.local/ns/emojivoto/sa/web');
    assert.deepEqual(decodeJwt(jwt.token as string).aud, ['spire-server']);
    const review = await client.reviewWorkload(n1, { workload: web.evidence });
    assert.deepEqual(
      { ...review, pod_name: undefined },
      { namespace: 'emojivoto', service_account: 'web', pod_uid: web.uid, pod_name: undefined, node_name: 'n1' },
    );
  });

  test('a pod token bound to node n2 sent by the agent of n1: PERMISSION_DENIED for X.509, JWT and review', async () => {
    const other = await world.workload('n2');
    await refused(
      client.signX509Svid(n1, { csr: newWorkloadKey().csr, workload: other.evidence }),
      status.PERMISSION_DENIED,
      /another node/,
    );
    await refused(client.mintJwtSvid(n1, { workload: other.evidence, audience: ['a'] }), status.PERMISSION_DENIED, /another node/);
    await refused(client.reviewWorkload(n1, { workload: other.evidence }), status.PERMISSION_DENIED, /another node/);
  });

  test('a token bound to no node, or to another pod than the one named: PERMISSION_DENIED', async () => {
    const nowhere = await world.workload(undefined);
    await refused(
      client.signX509Svid(n1, { csr: newWorkloadKey().csr, workload: nowhere.evidence }),
      status.PERMISSION_DENIED,
      /names no node.*Kubernetes 1\.30/,
    );
    const web = await world.workload('n1');
    const wrongPod = { ...web.evidence, pod_uid: (await world.workload('n1')).uid };
    await refused(client.signX509Svid(n1, { csr: newWorkloadKey().csr, workload: wrongPod }), status.PERMISSION_DENIED, /another pod/);
  });

  test('agent tokens: missing or unknown UNAUTHENTICATED; another audience, another account or no node PERMISSION_DENIED', async () => {
    const web = await world.workload('n1');
    const request = { csr: newWorkloadKey().csr, workload: web.evidence };
    await refused(client.signX509Svid(undefined, request), status.UNAUTHENTICATED, /missing agent token/);
    await refused(client.signX509Svid('not-a-jwt', request), status.UNAUTHENTICATED, /not authenticated/);
    await refused(
      client.signX509Svid(await world.agentToken('n1', { audiences: ['identity.l5d.io'] }), request),
      status.PERMISSION_DENIED,
      /not for the agent audience/,
    );
    await refused(
      client.signX509Svid(await world.agentToken('n1', { namespace: 'emojivoto', account: 'web' }), request),
      status.PERMISSION_DENIED,
      /not to the agent service account svid-agent\/svid-agent/,
    );
    await refused(
      client.signX509Svid(await world.agentToken('n1', { withoutNode: true }), request),
      status.PERMISSION_DENIED,
      /names no node.*Kubernetes 1\.30/,
    );
  });

  test('the issuer never signs its own server name: X.509 and JWT for linkerd/linkerd-identity are refused', async () => {
    const identity = await world.workload('n1', { ns: 'linkerd', sa: 'linkerd-identity' });
    await refused(
      client.signX509Svid(n1, { csr: newWorkloadKey().csr, workload: identity.evidence }),
      status.PERMISSION_DENIED,
      /own server name/,
    );
    await refused(client.mintJwtSvid(n1, { workload: identity.evidence, audience: ['a'] }), status.PERMISSION_DENIED, /own server name/);
  });

  test('malformed requests are INVALID_ARGUMENT', async () => {
    const web = await world.workload('n1');
    await refused(client.signX509Svid(n1, { csr: Buffer.from('nope'), workload: web.evidence }), status.INVALID_ARGUMENT, /does not parse/);
    await refused(client.signX509Svid(n1, { csr: newWorkloadKey().csr }), status.INVALID_ARGUMENT, /evidence needs a token/);
    await refused(client.mintJwtSvid(n1, { workload: web.evidence, audience: [] }), status.INVALID_ARGUMENT, /audience/);
  });

  test('the bundle stream sends the JWT bundle and the issuer fingerprint', async () => {
    const stream = client.watchBundles(n1);
    const first = await stream.next();
    assert.equal(first.issuer_fingerprint, createHash('sha256').update(world.ca.intermediate.der).digest('hex'));
    assert.equal((JSON.parse(first.jwt_bundle.toString()) as { keys: unknown[] }).keys.length, 1);
    stream.cancel();
    assert.equal((await stream.ended)?.code, status.CANCELLED);
    const refusedStream = client.watchBundles(undefined);
    assert.equal((await refusedStream.ended)?.code, status.UNAUTHENTICATED);
  });

  test('the TLS handshake: TLS 1.3, the full chain, the server name verified against the trust anchors alone', async () => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: issuer.port,
      ca: world.ca.root.pem,
      servername: SERVER_NAME,
      ALPNProtocols: ['h2'],
    });
    await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    try {
      assert.equal(socket.authorized, true, String(socket.authorizationError));
      assert.equal(socket.getProtocol(), 'TLSv1.3');
      assert.equal(socket.alpnProtocol, 'h2');
      const leaf = socket.getPeerX509Certificate() as X509Certificate;
      assert.equal(leaf.subjectAltName, `DNS:${SERVER_NAME}, URI:spiffe://cluster.local/ns/linkerd/sa/linkerd-identity`);
      assert.ok(leaf.verify(world.ca.intermediate.publicKey), 'signed by the issuer in use');
    } finally {
      socket.destroy();
    }
    const old = tls.connect({
      host: '127.0.0.1',
      port: issuer.port,
      ca: world.ca.root.pem,
      servername: SERVER_NAME,
      maxVersion: 'TLSv1.2',
    });
    await assert.rejects(new Promise((resolve, reject) => old.once('secureConnect', resolve).once('error', reject)), 'TLS 1.2 is refused');
    old.destroy();
  });

  test('a client without ALPN and a client with h2 both get answers on the same port', async () => {
    const path = '/svidagent.node.v1.NodeIssuer/ReviewWorkload';
    const plain = await callWithoutAlpn({ port: issuer.port, ca: world.ca.root.pem, serverName: SERVER_NAME, path });
    assert.deepEqual(plain, { grpcStatus: String(status.UNAUTHENTICATED), alpn: false });
    await refused(client.reviewWorkload(undefined, {}), status.UNAUTHENTICATED, /missing agent token/);
  });

  test('the log names node, reason and code of refusals, and never a token or ticket', () => {
    const refusal = log.entries.find((e) => e.msg === 'node request refused' && e.reason === 'workload_other_node');
    assert.ok(refusal);
    assert.equal(refusal.node, 'n1');
    assert.equal(refusal.code, 'PERMISSION_DENIED');
    assert.doesNotMatch(log.text(), /eyJ/);
  });

  test('metrics count requests by kind and outcome, refusals by reason', async () => {
    const text = await issuer.metrics.render();
    assert.match(text, /svid_issuer_node_requests_total\{kind="sign_x509_svid",outcome="OK"\} [1-9]/);
    assert.match(text, /svid_issuer_node_refusals_total\{kind="sign_x509_svid",reason="workload_other_node"\} 1/);
    assert.match(text, /svid_issuer_x509_svids_issued_total\{basis="token"\} [1-9]/);
    assert.match(text, /svid_issuer_ready 1/);
  });
});
