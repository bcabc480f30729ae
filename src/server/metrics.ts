/**
 * Prometheus metrics of the central issuer, served on `/metrics` of `--health-addr`: node-service
 * requests by kind and outcome, refusals by reason, Linkerd `Certify` requests by outcome, what was issued and on what basis, TokenReview
 * latency by audience, and state gauges read at scrape time. A registry of its own per issuer.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { scrapedGauge, timestampSeconds } from '../metric-gauges.js';
import type { NodeReason } from './node-errors.js';

/** Every metric name, each with the `svid_issuer_` prefix. */
export const ISSUER_METRIC_NAMES = {
  requests: 'svid_issuer_node_requests_total',
  refusals: 'svid_issuer_node_refusals_total',
  x509SvidsIssued: 'svid_issuer_x509_svids_issued_total',
  jwtSvidsMinted: 'svid_issuer_jwt_svids_minted_total',
  certifyRequests: 'svid_issuer_certify_requests_total',
  tokenReviewDuration: 'svid_issuer_token_review_duration_seconds',
  bundleStreams: 'svid_issuer_bundle_streams',
  issuerNotAfter: 'svid_issuer_issuer_not_after_timestamp_seconds',
  trustAnchorsNotAfter: 'svid_issuer_trust_anchors_not_after_timestamp_seconds',
  serverCertificateNotAfter: 'svid_issuer_server_certificate_not_after_timestamp_seconds',
  ready: 'svid_issuer_ready',
} as const;

/** The kinds of node-service request, as the `kind` label says them. */
export type NodeRequestKind = 'review_workload' | 'sign_x509_svid' | 'renew_x509_svid' | 'mint_jwt_svid' | 'watch_bundles';

/** Where the state gauges read from, at scrape time. */
export interface IssuerMetricSources {
  issuerNotAfterMs(): number | undefined;
  trustAnchorsNotAfterMs(): number | undefined;
  serverCertificateNotAfterMs(): number | undefined;
  ready(): boolean;
}

/** One issuer's metrics. */
export interface IssuerMetrics {
  readonly contentType: string;
  render(): Promise<string>;
  /** A finished request: `outcome` is the gRPC status name (`OK`, `PERMISSION_DENIED`, ...). */
  onRequest(kind: NodeRequestKind, outcome: string, reason: NodeReason | undefined): void;
  onX509Issued(basis: 'token' | 'ticket'): void;
  onJwtMinted(): void;
  /** A finished Linkerd `Certify`: `outcome` is the gRPC status name. */
  onCertify(outcome: string): void;
  /** The TokenReview validators' `onReview`, per audience. */
  onTokenReview(audience: 'agent' | 'workload', observation: { durationMs: number; result: 'ok' | 'error' }): void;
  onBundleStreams(open: number): void;
  /** Registers the state gauges; once. */
  observe(sources: IssuerMetricSources): void;
}

const TOKEN_REVIEW_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Creates the metrics in a fresh registry. */
export function createIssuerMetrics(): IssuerMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({
    name: ISSUER_METRIC_NAMES.requests,
    help: 'Node-service requests by kind and outcome (gRPC status name); streams count once, when set up or refused',
    labelNames: ['kind', 'outcome'] as const,
    registers,
  });
  const refusals = new Counter({
    name: ISSUER_METRIC_NAMES.refusals,
    help: 'Node-service requests refused or failed, by kind and reason',
    labelNames: ['kind', 'reason'] as const,
    registers,
  });
  const issued = new Counter({
    name: ISSUER_METRIC_NAMES.x509SvidsIssued,
    help: 'X.509-SVIDs signed, by basis: token (a workload token reviewed now) or ticket (renewed while the API server was unreachable)',
    labelNames: ['basis'] as const,
    registers,
  });
  const minted = new Counter({ name: ISSUER_METRIC_NAMES.jwtSvidsMinted, help: 'JWT-SVIDs minted', registers });
  const certified = new Counter({
    name: ISSUER_METRIC_NAMES.certifyRequests,
    help: "Linkerd Certify requests (proxies' own certificates) by outcome (gRPC status name)",
    labelNames: ['outcome'] as const,
    registers,
  });
  const reviews = new Histogram({
    name: ISSUER_METRIC_NAMES.tokenReviewDuration,
    help: 'TokenReview call latency by audience (agent, workload) and result (ok, error); cache hits are not calls',
    labelNames: ['audience', 'result'] as const,
    buckets: TOKEN_REVIEW_BUCKETS,
    registers,
  });
  const streams = new Gauge({ name: ISSUER_METRIC_NAMES.bundleStreams, help: 'Open WatchBundles streams', registers });
  let observed = false;
  return {
    contentType: registry.contentType,
    render: () => registry.metrics(),
    onRequest(kind, outcome, reason) {
      requests.inc({ kind, outcome });
      if (reason !== undefined) refusals.inc({ kind, reason });
    },
    onX509Issued: (basis) => issued.inc({ basis }),
    onJwtMinted: () => minted.inc(),
    onCertify: (outcome) => certified.inc({ outcome }),
    onTokenReview: (audience, { durationMs, result }) => reviews.observe({ audience, result }, durationMs / 1000),
    onBundleStreams: (open) => streams.set(open),
    observe(sources) {
      if (observed) throw new TypeError('metric sources are already set');
      observed = true;
      const gauge = (name: string, help: string, read: () => number) => scrapedGauge(registers, name, help, read);
      gauge(ISSUER_METRIC_NAMES.issuerNotAfter, 'Expiry of the issuer certificate chain, Unix seconds (0 when none is loaded)', () =>
        timestampSeconds(sources.issuerNotAfterMs()),
      );
      gauge(ISSUER_METRIC_NAMES.trustAnchorsNotAfter, 'Earliest expiry among the trust anchors, Unix seconds', () =>
        timestampSeconds(sources.trustAnchorsNotAfterMs()),
      );
      gauge(
        ISSUER_METRIC_NAMES.serverCertificateNotAfter,
        "Expiry of the issuer's own TLS certificate, Unix seconds (0 with --plaintext)",
        () => timestampSeconds(sources.serverCertificateNotAfterMs()),
      );
      gauge(ISSUER_METRIC_NAMES.ready, '1 when /ready answers 200, else 0', () => (sources.ready() ? 1 : 0));
    },
  };
}
