import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { register as defaultRegistry } from 'prom-client';
import { sampleValue } from '../../test/support/metrics-text.js';
import { METRIC_NAMES } from './metric-names.js';
import { createAgentMetrics, type MetricSources } from './metrics.js';
import type { IssuedSvid } from './svid-store.js';

const svid = {} as IssuedSvid;

function sources(overrides: Partial<MetricSources> = {}): MetricSources {
  return {
    identities: () => 0,
    issuerNotAfterMs: () => undefined,
    trustAnchorsNotAfterMs: () => undefined,
    ready: () => false,
    issuerChainsToAnchors: () => true,
    openConnections: () => 0,
    ...overrides,
  };
}

describe('agent metrics', () => {
  test('every name has the svid_agent_ prefix', () => {
    for (const name of Object.values(METRIC_NAMES)) assert.match(name, /^svid_agent_[a-z0-9_]+$/);
  });

  test('hooks count issuance, rotations, calls by method and code, attestations by reason', async () => {
    const m = createAgentMetrics();
    m.onIssued(svid, false);
    m.onIssued(svid, true);
    m.onCallResult('FetchX509SVID', 'OK');
    m.onCallResult('FetchX509SVID', 'PERMISSION_DENIED');
    m.onCallResult('FetchX509SVID', '7');
    m.onAttestation({ attestor: 'k8s', result: 'refused', reason: 'pod_mismatch' });
    m.onStreamsChanged(3);
    m.onStreamsChanged(2);
    const text = await m.render();
    assert.equal(sampleValue(text, METRIC_NAMES.svidsIssued), 2);
    assert.equal(sampleValue(text, METRIC_NAMES.svidRotations), 1);
    assert.equal(sampleValue(text, METRIC_NAMES.workloadApiCalls, { method: 'FetchX509SVID', code: 'OK' }), 1);
    assert.equal(sampleValue(text, METRIC_NAMES.workloadApiCalls, { method: 'FetchX509SVID', code: 'PERMISSION_DENIED' }), 2);
    assert.equal(sampleValue(text, METRIC_NAMES.attestations, { attestor: 'k8s', result: 'refused', reason: 'pod_mismatch' }), 1);
    assert.equal(sampleValue(text, METRIC_NAMES.openStreams), 2);
    assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
  });

  test('observations are recorded after the turn; a scrape takes them at once; a refused one is dropped alone', async () => {
    const m = createAgentMetrics();
    m.onTokenReview({ durationMs: Number.NaN, result: 'ok' });
    m.onTokenReview({ durationMs: 4, result: 'ok' });
    await new Promise((resolve) => setImmediate(resolve));
    m.onIssued(svid, false);
    const text = await m.render();
    assert.equal(sampleValue(text, `${METRIC_NAMES.tokenReviewDuration}_count`, { result: 'ok' }), 1);
    assert.equal(sampleValue(text, METRIC_NAMES.svidsIssued), 1);
  });

  test('TokenReview latency is a histogram in seconds, by result', async () => {
    const m = createAgentMetrics();
    m.onTokenReview({ durationMs: 20, result: 'ok' });
    m.onTokenReview({ durationMs: 3000, result: 'error' });
    const text = await m.render();
    const name = METRIC_NAMES.tokenReviewDuration;
    assert.equal(sampleValue(text, `${name}_count`, { result: 'ok' }), 1);
    assert.equal(sampleValue(text, `${name}_sum`, { result: 'ok' }), 0.02);
    assert.equal(sampleValue(text, `${name}_bucket`, { result: 'ok', le: '0.025' }), 1);
    assert.equal(sampleValue(text, `${name}_bucket`, { result: 'error', le: '2.5' }), 0);
    assert.equal(sampleValue(text, `${name}_bucket`, { result: 'error', le: '5' }), 1);
  });

  test('state gauges are read from their sources at every scrape', async () => {
    const m = createAgentMetrics();
    let identities = 1;
    let ready = false;
    m.observe(
      sources({
        identities: () => identities,
        issuerNotAfterMs: () => 1_900_000_000_000,
        trustAnchorsNotAfterMs: () => 2_000_000_000_000,
        ready: () => ready,
      }),
    );
    let text = await m.render();
    assert.equal(sampleValue(text, METRIC_NAMES.identities), 1);
    assert.equal(sampleValue(text, METRIC_NAMES.issuerNotAfter), 1_900_000_000);
    assert.equal(sampleValue(text, METRIC_NAMES.trustAnchorsNotAfter), 2_000_000_000);
    assert.equal(sampleValue(text, METRIC_NAMES.ready), 0);
    identities = 4;
    ready = true;
    text = await m.render();
    assert.equal(sampleValue(text, METRIC_NAMES.identities), 4);
    assert.equal(sampleValue(text, METRIC_NAMES.ready), 1);
  });

  test('no issuer loaded reads as 0; sources can be set only once', async () => {
    const m = createAgentMetrics();
    m.observe(sources());
    assert.equal(sampleValue(await m.render(), METRIC_NAMES.issuerNotAfter), 0);
    assert.throws(() => m.observe(sources()), TypeError);
  });

  test('each agent has its own registry; the process-wide default one is left alone', async () => {
    const a = createAgentMetrics();
    const b = createAgentMetrics();
    a.onIssued(svid, false);
    assert.equal(sampleValue(await a.render(), METRIC_NAMES.svidsIssued), 1);
    assert.equal(sampleValue(await b.render(), METRIC_NAMES.svidsIssued), 0);
    assert.equal(defaultRegistry.getSingleMetric(METRIC_NAMES.svidsIssued), undefined);
  });
});
