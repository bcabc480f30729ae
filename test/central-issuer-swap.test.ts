/**
 * An issuer swap on a running central issuer (cert-manager rotating the issuer Secret): the TLS
 * certificate is re-issued by the new issuer at once, bundle streams carry the new fingerprint
 * (agents re-issue, spread over time), and tickets of the previous issuer still renew during an
 * API outage, for one SVID lifetime.
 */
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { afterEach, beforeEach, test } from 'node:test';
import tls from 'node:tls';
import { type CentralWorld, createCentralWorld, SERVER_NAME } from './support/central-issuer.js';
import { createNodeClient, type NodeClient, newWorkloadKey, renewalOf } from './support/node-client.js';

let world: CentralWorld;
let client: NodeClient | undefined;
beforeEach(async () => {
  world = await createCentralWorld();
});
afterEach(async () => {
  client?.close();
  await world.close();
});

async function serverLeaf(port: number): Promise<X509Certificate> {
  const socket = tls.connect({ host: '127.0.0.1', port, ca: world.ca.root.pem, servername: SERVER_NAME });
  await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  try {
    assert.equal(socket.authorized, true);
    return socket.getPeerX509Certificate() as X509Certificate;
  } finally {
    socket.destroy();
  }
}

test('after a swap: a new TLS certificate from the new issuer, and the new fingerprint on every bundle stream', async () => {
  const issuer = await world.start({ jwtKey: world.jwtKeyPath });
  client = createNodeClient({ port: issuer.port, ca: world.ca.root.pem, serverName: SERVER_NAME });
  assert.ok((await serverLeaf(issuer.port)).verify(world.ca.intermediate.publicKey));
  const stream = client.watchBundles(await world.agentToken('n1'));
  const before = await stream.next();
  const next = await world.swapIssuer();
  await issuer.reloadCredentials();
  const after = await stream.next();
  assert.equal(after.issuer_fingerprint, createHash('sha256').update(next.der).digest('hex'));
  assert.notEqual(after.issuer_fingerprint, before.issuer_fingerprint);
  assert.deepEqual(after.jwt_bundle, before.jwt_bundle, 'the JWT bundle did not change');
  assert.ok((await serverLeaf(issuer.port)).verify(next.publicKey), 'the handshake now shows a leaf of the new issuer');
  stream.cancel();
});

test('a ticket of the previous issuer renews during an outage, signed by the new one', async () => {
  const issuer = await world.start({ plaintext: true });
  client = createNodeClient({ port: issuer.port });
  const pod = await world.workload('n1');
  const key = newWorkloadKey();
  const svid = await client.signX509Svid(await world.agentToken('n1'), { csr: key.csr, workload: pod.evidence });
  const next = await world.swapIssuer();
  await issuer.reloadCredentials();
  await world.fake.refuse();
  world.now += 5 * 60_000;
  const rotated = newWorkloadKey();
  const renewed = await client.signX509Svid(await world.agentToken('n1'), {
    csr: rotated.csr,
    renewal: renewalOf({ leaf: svid.leaf, ticket: svid.ticket, privateKey: key.privateKey }, rotated),
  });
  assert.ok(new X509Certificate(renewed.leaf).verify(next.publicKey));
  assert.deepEqual(renewed.intermediates, [next.der]);
});
