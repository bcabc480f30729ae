/**
 * The central issuer end to end: real node agents (`startAgent` with `--issuer-addr`) and real
 * issuer replicas (`startIssuerServer`) against the strict fake Kubernetes API, callers being
 * child processes placed in pods by a /proc fixture. What a workload sees through the Workload
 * API, and what the issuer counted. The node service's rules are tested on the wire in
 * central-issuer*.test.ts, the agent's side against a fake issuer in central-agent*.test.ts.
 *
 * Over TLS where the clock is the wall clock. Where the clock is moved (past every cache, past
 * a ticket's bound), the issuers and the fake API share an injected clock and agents talk h2c on
 * loopback: the issuer's TLS certificate would not be valid at the moved time for grpc's
 * OpenSSL. An agent shares the moved clock only where none of its timers must fire after the
 * move (its timers run on the wall clock).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import type { RunningIssuer } from '../src/server/index.js';
import { type CentralWorld, createCentralWorld, type TestWorkload } from './support/central-issuer.js';
import { type NodeAgent, podProcess, type ServiceProxy, startNodeAgent, startServiceProxy } from './support/central-nodes.js';
import { agentLogged, holdStream } from './support/central-world.js';
import { type ChildEvent, finalStatus, firstSvid } from './support/child.js';
import { callAs, spiffeIdOf } from './support/k8s-world.js';
import { captureLogger } from './support/log-capture.js';
import { sampleValue } from './support/metrics-text.js';

const WEB = 'spiffe://cluster.local/ns/emojivoto/sa/web';
const TTL = 3_600_000;
/** Longer than every cache: TokenReview results and reviews of workloads live at most 60 s. */
const PAST_CACHES = 5 * 60_000;

const data = (events: readonly ChildEvent[]) => events.filter((e) => e.event === 'data');

/** The code and details of the call's final status. */
function ended(events: ChildEvent[]): { code: number | undefined; details: string | undefined } {
  const st = finalStatus(events);
  return { code: st.code, details: st.details };
}

/** A Workload API call by a process of `workload`'s pod to `agent`. */
function call(agent: NodeAgent, workload: TestWorkload, method?: string, request: object = {}): Promise<ChildEvent[]> {
  const args = method ? ['--method', method, '--request', JSON.stringify(request)] : [];
  return callAs(agent, podProcess(workload), args);
}

async function issuerSample(issuer: RunningIssuer, name: string, labels: Record<string, string>): Promise<number> {
  return sampleValue(await issuer.metrics.render(), name, labels) ?? 0;
}
const refusals = (issuer: RunningIssuer, kind: string, reason: string) =>
  issuerSample(issuer, 'svid_issuer_node_refusals_total', { kind, reason });
const issuedOn = (issuer: RunningIssuer, basis: 'token' | 'ticket') =>
  issuerSample(issuer, 'svid_issuer_x509_svids_issued_total', { basis });

describe('over TLS, the API server up: what workloads on a node can get', () => {
  let world: CentralWorld;
  let issuer: RunningIssuer;
  let n1: NodeAgent;
  const issuerLog = captureLogger('debug');

  before(async () => {
    world = await createCentralWorld();
    issuer = await world.start({ jwtKey: world.jwtKeyPath }, issuerLog.logger);
    n1 = await startNodeAgent(world, 'n1', `127.0.0.1:${issuer.port}`);
  });
  after(async () => {
    await n1.close();
    await world.close();
  });

  test('a pod on the node gets an X.509-SVID from the issuer and a JWT-SVID that validates against the streamed bundle', async () => {
    const web = await world.workload('n1');
    const svid = firstSvid(data(await call(n1, web))[0]);
    assert.equal(svid.spiffe_id, WEB);
    const leaf = new X509Certificate(svid.x509_svid);
    assert.ok(leaf.verify(world.ca.intermediate.publicKey), 'signed by the central issuer');
    assert.equal(await issuedOn(issuer, 'token'), 1);

    const minted = data(await call(n1, web, 'FetchJWTSVID', { audience: ['db'] }))[0]?.message?.svids as Array<{ svid: string }>;
    const token = minted?.[0]?.svid ?? '';
    const validated = data(await call(n1, web, 'ValidateJWTSVID', { audience: 'db', svid: token }))[0]?.message;
    assert.equal(validated?.spiffe_id, WEB);
  });

  test('a pod token bound to node n2, presented on n1: PERMISSION_DENIED for X.509 and JWT', async () => {
    const elsewhere = await world.workload('n2');
    const before = await refusals(issuer, 'review_workload', 'workload_other_node');
    assert.deepEqual(ended(await call(n1, elsewhere)), { code: status.PERMISSION_DENIED, details: 'no identity issued' });
    assert.deepEqual(ended(await call(n1, elsewhere, 'FetchJWTSVID', { audience: ['db'] })), {
      code: status.PERMISSION_DENIED,
      details: 'no identity issued',
    });
    assert.ok((await refusals(issuer, 'review_workload', 'workload_other_node')) > before, 'the issuer refused it');
  });

  test('the issuer does not sign its own name: a pod of linkerd/linkerd-identity gets PERMISSION_DENIED, X.509 and JWT', async () => {
    const impostor = await world.workload('n1', { ns: 'linkerd', sa: 'linkerd-identity' });
    assert.deepEqual(ended(await call(n1, impostor)), { code: status.PERMISSION_DENIED, details: 'no identity issued' });
    assert.deepEqual(ended(await call(n1, impostor, 'FetchJWTSVID', { audience: ['db'] })), {
      code: status.PERMISSION_DENIED,
      details: 'no identity issued',
    });
    assert.equal(await refusals(issuer, 'sign_x509_svid', 'own_name'), 1);
    assert.equal(await refusals(issuer, 'mint_jwt_svid', 'own_name'), 1);
  });

  test('an agent token of another account or another audience is refused; its workloads get nothing', async () => {
    const good = await world.workload('n1');
    try {
      await n1.rotateAgentToken(await world.agentToken('n1', { namespace: 'emojivoto', account: 'web' }));
      const other = await world.workload('n1');
      assert.deepEqual(ended(await call(n1, other)), { code: status.PERMISSION_DENIED, details: 'no identity issued' });
      assert.equal(await refusals(issuer, 'review_workload', 'agent_wrong_account'), 1);

      await n1.rotateAgentToken(await world.agentToken('n1', { audiences: ['identity.l5d.io'] }));
      assert.deepEqual(ended(await call(n1, await world.workload('n1'))), {
        code: status.PERMISSION_DENIED,
        details: 'no identity issued',
      });
      assert.equal(await refusals(issuer, 'review_workload', 'agent_wrong_audience'), 1);
    } finally {
      await n1.rotateAgentToken();
    }
    assert.equal(spiffeIdOf(await call(n1, good)), WEB, 'with its own token again, the agent is served');
  });

  test('the issuer logs refusals with node and reason, never a token', () => {
    assert.ok(issuerLog.entries.some((e) => e.msg === 'node request refused' && e.node === 'n1' && e.reason === 'workload_other_node'));
    assert.doesNotMatch(issuerLog.text(), /eyJ/);
    assert.doesNotMatch(n1.log.text(), /eyJ/);
  });
});

describe('renewal while the API server is down, on a second, freshly started replica', () => {
  let world: CentralWorld;
  let service: ServiceProxy;
  let first: RunningIssuer;
  let n1: NodeAgent;

  before(async () => {
    world = await createCentralWorld();
    first = await world.start({ plaintext: true, svidTtlMs: TTL });
    service = await startServiceProxy(first.port);
    // The wall clock: its renewal timers stay in step with it while the issuers' clock jumps past the ticket's bound.
    n1 = await startNodeAgent(world, 'n1', service.address, { plaintext: true, random: () => 0 });
  });
  after(async () => {
    await n1.close();
    await service.close();
    await world.close();
  });

  test('renewed on ticket and proof, the agent token rotated meanwhile; past attested-at + --svid-ttl refused', async () => {
    const attestedAt = world.now;
    const held = await holdStream(n1, podProcess(await world.workload('n1')), 3);
    const firstLeaf = new X509Certificate(firstSvid(data(held.events)[0]).x509_svid);

    await world.fake.refuse();
    world.now += PAST_CACHES;
    await n1.rotateAgentToken();
    const second = await world.start({ plaintext: true, svidTtlMs: TTL });
    assert.equal(second.ready(), false, 'it could not ask whether it may create tokenreviews');
    service.route(second.port);

    n1.running.workloadApi.store.reissueAll(0);
    await held.waitFor(() => data(held.events).length === 2, 60_000);
    const renewed = firstSvid(data(held.events)[1]);
    assert.equal(renewed.spiffe_id, WEB);
    const leaf = new X509Certificate(renewed.x509_svid);
    assert.notEqual(leaf.serialNumber, firstLeaf.serialNumber);
    assert.equal(new Date(leaf.validTo).getTime(), Math.floor((attestedAt + TTL) / 1000) * 1000, 'it ends with the ticket');
    assert.equal(await issuedOn(second, 'ticket'), 1, 'the second replica renewed it on the ticket');
    assert.equal(await issuedOn(first, 'ticket'), 0);

    world.now = attestedAt + TTL;
    const failed = n1.log.entries.filter((e) => e.msg === 'svid rotation failed').length;
    n1.running.workloadApi.store.reissueAll(0);
    await agentLogged(n1, 'svid rotation failed', failed + 1);
    assert.ok((await refusals(second, 'renew_x509_svid', 'ticket_expired')) >= 1, 'refused: the ticket expired');
    assert.equal(data(held.events).length, 2, 'nothing pushed past the bound');
    held.process.kill();
  });
});

describe('a deleted pod, the API server up', () => {
  let world: CentralWorld;
  let issuer: RunningIssuer;
  let n1: NodeAgent;

  before(async () => {
    world = await createCentralWorld();
    issuer = await world.start({ plaintext: true, svidTtlMs: TTL });
    n1 = await startNodeAgent(world, 'n1', `127.0.0.1:${issuer.port}`, { plaintext: true, clock: world.clock, random: () => 0 });
  });
  after(async () => {
    await n1.close();
    await world.close();
  });

  test('its renewal is refused once the review has left the cache, though its process still holds the token', async () => {
    const pod = await world.workload('n1');
    const held = await holdStream(n1, podProcess(pod), 2);
    world.fake.deletePod(pod.uid);
    world.now += 61_000;
    n1.running.workloadApi.store.reissueAll(0);
    await agentLogged(n1, 'svid rotation failed');
    assert.equal(await refusals(issuer, 'renew_x509_svid', 'workload_token_not_authenticated'), 1);
    assert.equal(await issuedOn(issuer, 'ticket'), 0, 'no ticket renewal while the API server answers');
    assert.equal(data(held.events).length, 1);
    held.process.kill();
  });
});

describe('the issuer stopped across a failed rotation, over TLS', () => {
  let world: CentralWorld;
  let issuer: RunningIssuer;
  let service: ServiceProxy;
  let n1: NodeAgent;

  before(async () => {
    world = await createCentralWorld();
    issuer = await world.start();
    service = await startServiceProxy(issuer.port);
    n1 = await startNodeAgent(world, 'n1', service.address, { random: () => 0 });
  });
  after(async () => {
    await n1.close();
    await service.close();
    await world.close();
  });

  test('held streams keep their SVIDs, a new identity gets UNAVAILABLE, the next SVID arrives once an issuer is back', async () => {
    const held = await holdStream(n1, podProcess(await world.workload('n1')), 2);
    const before = firstSvid(data(held.events)[0]);
    await world.stop(issuer);
    service.route(undefined);
    n1.running.workloadApi.store.reissueAll(0);
    await agentLogged(n1, 'svid rotation failed');
    assert.equal(data(held.events).length, 1, 'the held stream keeps its SVID');
    assert.equal(held.events.at(-1)?.event, 'data', 'and stays open');
    assert.deepEqual(ended(await call(n1, await world.workload('n1', { sa: 'new' }))), {
      code: status.UNAVAILABLE,
      details: 'workload attestation failed',
    });
    assert.equal(n1.running.issuerReachable?.get(), false);

    const back = await world.start();
    service.route(back.port);
    const events = await held.done;
    const next = firstSvid(data(events)[1]);
    assert.equal(next.spiffe_id, before.spiffe_id);
    assert.notDeepEqual(next.x509_svid, before.x509_svid, 'a new SVID on the same stream');
    assert.equal(await issuedOn(back, 'token'), 1, 'from the returned issuer, on the token read again from the pod');
  });
});

describe('an issuer swap, over TLS', () => {
  let world: CentralWorld;
  let issuer: RunningIssuer;
  let n1: NodeAgent;

  before(async () => {
    world = await createCentralWorld();
    issuer = await world.start();
    // Re-issues after a swap are spread over minutes at random; 0 puts this one first.
    n1 = await startNodeAgent(world, 'n1', `127.0.0.1:${issuer.port}`, { random: () => 0 });
  });
  after(async () => {
    await n1.close();
    await world.close();
  });

  test('the agent learns of it on the bundle stream and re-issues: the next SVID is the new issuer’s', async () => {
    const held = await holdStream(n1, podProcess(await world.workload('n1')), 2);
    const next = await world.swapIssuer();
    await issuer.reloadCredentials();
    const events = await held.done;
    const renewed = firstSvid(data(events)[1]);
    const leaf = new X509Certificate(renewed.x509_svid);
    assert.ok(leaf.verify(next.publicKey), 'signed by the new issuer');
  });
});
