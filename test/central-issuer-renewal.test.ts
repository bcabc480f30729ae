/**
 * Renewal on the central issuer (docs/central-issuer.md, "Renewal tickets"): with the API server
 * up a renewal needs a fresh workload token from the same node; while it is unreachable, ticket
 * and proof of possession suffice — on any replica, a freshly started one included — until
 * attested-at + --svid-ttl. The clock is injected and moved past every cache's lifetime.
 * Plain h2c on loopback: the TLS certificate would not be valid at the moved clock for a real client.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, beforeEach, describe, test } from 'node:test';
import { type ServiceError, status } from '@grpc/grpc-js';
import { verifyTicket } from '../src/issuer/index.js';
import { type CentralWorld, createCentralWorld } from './support/central-issuer.js';
import {
  createNodeClient,
  type NodeClient,
  newWorkloadKey,
  renewalOf,
  type SignResponse,
  type WorkloadKeyPair,
} from './support/node-client.js';

const TTL = 3_600_000;
/** Longer than every cache: TokenReview results live at most 60 s. */
const PAST_CACHES = 5 * 60_000;

async function refused(promise: Promise<unknown>, code: status, details: RegExp): Promise<void> {
  await assert.rejects(promise, (err: ServiceError) => {
    assert.equal(status[err.code], status[code], err.details);
    assert.match(err.details, details);
    return true;
  });
}

describe('renewals', () => {
  let world: CentralWorld;
  const clients: NodeClient[] = [];
  const connect = (port: number) => {
    const client = createNodeClient({ port });
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await world?.close();
    world = await createCentralWorld();
  });
  after(async () => {
    for (const c of clients.splice(0)) c.close();
    await world.close();
  });

  /** A first issuance on node n1 through `client`. */
  async function firstIssuance(client: NodeClient) {
    const pod = await world.workload('n1');
    const key = newWorkloadKey();
    const svid = await client.signX509Svid(await world.agentToken('n1'), { csr: key.csr, workload: pod.evidence });
    return { pod, key, svid };
  }
  const held = (svid: SignResponse, key: WorkloadKeyPair) => ({ leaf: svid.leaf, ticket: svid.ticket, privateKey: key.privateKey });

  test('API up: renewal with a fresh token and the ticket; without a token it is refused', async () => {
    const issuer = await world.start({ plaintext: true, svidTtlMs: TTL });
    const client = connect(issuer.port);
    const { pod, key, svid } = await firstIssuance(client);
    const agent = await world.agentToken('n1');
    const next = newWorkloadKey();
    await refused(
      client.signX509Svid(agent, { csr: next.csr, renewal: renewalOf(held(svid, key), next) }),
      status.PERMISSION_DENIED,
      /renewal needs a fresh workload token while the api server is reachable/,
    );
    world.now += 60_000;
    const renewed = await client.signX509Svid(agent, { csr: next.csr, workload: pod.evidence, renewal: renewalOf(held(svid, key), next) });
    assert.ok(new X509Certificate(renewed.leaf).checkPrivateKey(next.privateKey));
    const ticket = verifyTicket(renewed.ticket, []);
    assert.equal(ticket, 'unknown_key', 'the ticket is opaque to anyone without the issuer key');
  });

  test('API up: n2 renewing n1’s identity with n1’s ticket is refused', async () => {
    const issuer = await world.start({ plaintext: true, svidTtlMs: TTL });
    const client = connect(issuer.port);
    const { key, svid } = await firstIssuance(client);
    const onN2 = await world.workload('n2');
    const next = newWorkloadKey();
    await refused(
      client.signX509Svid(await world.agentToken('n2'), {
        csr: next.csr,
        workload: onN2.evidence,
        renewal: renewalOf(held(svid, key), next),
      }),
      status.PERMISSION_DENIED,
      /ticket was issued to another node/,
    );
  });

  test('API up: a deleted pod’s renewal is refused once its review has left the cache', async () => {
    const issuer = await world.start({ plaintext: true, svidTtlMs: TTL });
    const client = connect(issuer.port);
    const { pod, key, svid } = await firstIssuance(client);
    world.fake.deletePod(pod.uid);
    world.now += 61_000;
    const next = newWorkloadKey();
    await refused(
      client.signX509Svid(await world.agentToken('n1'), {
        csr: next.csr,
        workload: pod.evidence,
        renewal: renewalOf(held(svid, key), next),
      }),
      status.PERMISSION_DENIED,
      /workload token is not authenticated/,
    );
  });

  test('API down past every cache, the agent token rotated: a second, freshly started replica renews on ticket and proof', async () => {
    const first = await world.start({ plaintext: true, svidTtlMs: TTL });
    const { pod, key, svid } = await firstIssuance(connect(first.port));
    const attestedAt = world.now;
    await world.fake.refuse();
    world.now += PAST_CACHES;
    const second = await world.start({ plaintext: true, svidTtlMs: TTL });
    assert.equal(second.ready(), false, 'not ready: whether it may create tokenreviews is unknown');
    const client = connect(second.port);
    const rotatedAgentToken = await world.agentToken('n1');
    const next = newWorkloadKey();
    const renewed = await client.signX509Svid(rotatedAgentToken, {
      csr: next.csr,
      workload: pod.evidence,
      renewal: renewalOf(held(svid, key), next),
    });
    assert.equal(renewed.spiffe_id, 'spiffe://cluster.local/ns/emojivoto/sa/web');
    assert.ok(new X509Certificate(renewed.leaf).checkPrivateKey(next.privateKey));
    assert.equal(Number(renewed.not_after_unix_ms), attestedAt + TTL, 'a leaf renewed on a ticket ends with the ticket');
    assert.match(await second.metrics.render(), /svid_issuer_x509_svids_issued_total\{basis="ticket"\} 1/);

    // The renewed SVID renews again, on its own ticket: same bound, never extended.
    world.now += 60_000;
    const third = newWorkloadKey();
    const again = await client.signX509Svid(rotatedAgentToken, { csr: third.csr, renewal: renewalOf(held(renewed, next), third) });
    assert.equal(Number(again.not_after_unix_ms), attestedAt + TTL);

    // Past attested-at + --svid-ttl: refused.
    world.now = attestedAt + TTL;
    const late = newWorkloadKey();
    await refused(
      client.signX509Svid(rotatedAgentToken, { csr: late.csr, renewal: renewalOf(held(again, third), late) }),
      status.PERMISSION_DENIED,
      /ticket expired.*fresh workload token/,
    );
  });

  test('API down: a certificate presented without its key, or a ticket with another certificate, is refused', async () => {
    const issuer = await world.start({ plaintext: true, svidTtlMs: TTL });
    const client = connect(issuer.port);
    const { key, svid } = await firstIssuance(client);
    const other = await firstIssuance(client);
    await world.fake.refuse();
    world.now += PAST_CACHES;
    const agent = await world.agentToken('n2');
    const next = newWorkloadKey();
    const thief = newWorkloadKey();
    // Holds the certificate and ticket, not the key: signs the proof with a key of its own.
    const withoutKey = { ticket: svid.ticket, certificate: svid.leaf, signature: renewalOf(held(svid, thief), next).signature };
    await refused(
      client.signX509Svid(agent, { csr: next.csr, renewal: withoutKey }),
      status.PERMISSION_DENIED,
      /renewal proof does not verify/,
    );
    const mixed = { ...renewalOf(held(other.svid, other.key), next), ticket: svid.ticket };
    await refused(client.signX509Svid(agent, { csr: next.csr, renewal: mixed }), status.PERMISSION_DENIED, /not the one the ticket/);
    const forged = Buffer.from(svid.ticket);
    forged[20] = (forged[20] as number) ^ 1;
    await refused(
      client.signX509Svid(agent, { csr: next.csr, renewal: { ...renewalOf(held(svid, key), next), ticket: forged } }),
      status.PERMISSION_DENIED,
      /not issued by this issuer/,
    );
  });

  test('API down: everything but a renewal on a ticket is UNAVAILABLE', async () => {
    const issuer = await world.start({ plaintext: true, svidTtlMs: TTL, jwtKey: world.jwtKeyPath });
    const client = connect(issuer.port);
    const pod = await world.workload('n1');
    await world.fake.refuse();
    world.now += PAST_CACHES;
    const agent = await world.agentToken('n1');
    await refused(client.signX509Svid(agent, { csr: newWorkloadKey().csr, workload: pod.evidence }), status.UNAVAILABLE, /retry later/);
    await refused(client.reviewWorkload(agent, { workload: pod.evidence }), status.UNAVAILABLE, /retry later/);
    await refused(client.mintJwtSvid(agent, { workload: pod.evidence, audience: ['a'] }), status.UNAVAILABLE, /retry later/);
  });
});
