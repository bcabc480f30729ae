/**
 * A node agent while its central issuer is away (the fake node service stopped, its port
 * closed): identities held keep streaming, a new identity gets UNAVAILABLE, an SVID that would
 * expire ends its stream with UNAVAILABLE instead, the next SVID follows the issuer's return with
 * no restart, `/ready` stays up, and the JWT bundle is served from the agent's copy. Events are
 * ordered on log lines and stream messages, not on sleeps; randomness is 0 (no jitter).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { METRIC_NAMES } from '../src/agent/index.js';
import { jwtSigningKeyFrom, newKeyPair } from '../src/issuer/index.js';
import { addPod, type CentralWorld, holdStream, logged, startCentralWorld } from './support/central-world.js';
import { type ChildEvent, finalStatus, firstSvid } from './support/child.js';
import { callAs } from './support/k8s-world.js';
import { sampleValue } from './support/metrics-text.js';

const UNREACHABLE = 'central issuer unreachable; serving the identities held, new ones fail until it is back';

const data = (events: readonly ChildEvent[]) => events.filter((e) => e.event === 'data');

async function metric(w: CentralWorld, name: string): Promise<number | undefined> {
  return sampleValue(await w.agent.running.metrics.render(), name);
}

describe('issuer stopped across a failed rotation', () => {
  let w: CentralWorld;
  before(async () => {
    // Rotation at 70 % of 15 s; the SVID outlives the failed attempts by seconds.
    w = await startCentralWorld({
      issuer: { svidTtlMs: 15_000 },
      agent: { minRefreshMs: 1_000, healthAddr: '127.0.0.1:0' },
      random: () => 0,
    });
  });
  after(() => w.close());

  test('held streams keep their SVIDs, a new identity gets UNAVAILABLE, the next SVID arrives after the issuer returns', async () => {
    const held = await holdStream(w, addPod(w).process, 2);
    const first = firstSvid(data(held.events)[0]);
    await w.issuer.stop();
    // The rotation comes now rather than at 70 % of the lifetime (what an issuer swap does).
    w.agent.running.workloadApi.store.reissueAll(0);
    await logged(w, 'svid rotation failed');
    assert.equal(data(held.events).length, 1, 'the held stream still has its SVID, and nothing else');
    assert.equal(held.events.at(-1)?.event, 'data', 'and it is still open');

    const fresh = finalStatus(await callAs(w, addPod(w, { sa: 'new' }).process));
    assert.deepEqual({ code: fresh.code, details: fresh.details }, { code: status.UNAVAILABLE, details: 'workload attestation failed' });

    const ready = await fetch(`${w.agent.running.httpUrl}/ready`);
    assert.equal(ready.status, 200, '/ready does not depend on the issuer');
    assert.equal(await metric(w, METRIC_NAMES.issuerReachable), 0);
    assert.equal(
      w.agent.log.entries.filter((e) => e.msg === UNREACHABLE && e.level === 'warn').length,
      1,
      'one warn line, not one per call',
    );

    await w.issuer.start();
    const events = await held.done;
    const second = firstSvid(data(events)[1]);
    assert.equal(second.spiffe_id, first.spiffe_id);
    assert.notDeepEqual(second.x509_svid, first.x509_svid, 'a new SVID, pushed on the same stream');
    await logged(w, 'central issuer reachable', 2);
    assert.equal(await metric(w, METRIC_NAMES.issuerReachable), 1);
  });
});

describe('an SVID that would expire while the issuer is away', () => {
  let w: CentralWorld;
  before(async () => {
    w = await startCentralWorld({ issuer: { svidTtlMs: 4_000 }, agent: { minRefreshMs: 1_000 }, random: () => 0 });
  });
  after(() => w.close());

  test('ends its stream with UNAVAILABLE rather than pushing an expired SVID', async () => {
    const held = await holdStream(w, addPod(w).process, 2);
    await w.issuer.stop();
    const events = await held.done;
    assert.equal(data(events).length, 1, 'no second message');
    const end = finalStatus(events);
    assert.deepEqual({ code: end.code, details: end.details }, { code: status.UNAVAILABLE, details: 'issuer unavailable' });
    assert.ok(w.agent.log.entries.some((e) => e.msg === 'svid expired before it could be renewed; ending its streams'));
  });
});

describe('JWT-SVIDs while the issuer is away', () => {
  let w: CentralWorld;
  before(async () => {
    const jwtKey = await jwtSigningKeyFrom(newKeyPair('ec', { namedCurve: 'P-256' }).privateKey);
    w = await startCentralWorld({ issuer: { jwtKey } });
  });
  after(() => w.close());

  const call = (process: Parameters<typeof callAs>[1], method: string, request: object) =>
    callAs(w, process, ['--method', method, '--request', JSON.stringify(request)]);

  test('FetchJWTBundles and ValidateJWTSVID keep working from the cached bundle; minting needs the issuer', async () => {
    const pod = addPod(w);
    const minted = data(await call(pod.process, 'FetchJWTSVID', { audience: ['db'] }))[0]?.message?.svids as Array<{ svid: string }>;
    const token = minted[0]?.svid ?? '';
    assert.ok(token.split('.').length === 3);
    const mint = w.issuer.calls.find((c) => c.method === 'MintJWTSVID');
    assert.deepEqual(mint?.request.workload, { token: pod.token, pod_uid: pod.uid }, 'minted against the caller’s own token');
    await logged(w, 'central issuer reachable');

    await w.issuer.stop();
    await logged(w, UNREACHABLE);
    const bundles = data(await call(pod.process, 'FetchJWTBundles', {}));
    assert.equal(bundles.length, 1);
    const validated = data(await call(pod.process, 'ValidateJWTSVID', { audience: 'db', svid: token }))[0]?.message;
    assert.equal(validated?.spiffe_id, 'spiffe://cluster.local/ns/emojivoto/sa/web');
    const fresh = finalStatus(await call(pod.process, 'FetchJWTSVID', { audience: ['another'] }));
    assert.equal(fresh.code, status.UNAVAILABLE);
  });
});
