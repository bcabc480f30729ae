/**
 * The Prometheus metric names (a stable interface: dashboards and alerts use them), apart from
 * `metrics.ts`, which loads prom-client only when `--health-addr` serves `/metrics`.
 */

/** Every metric name, each with the `svid_agent_` prefix. */
export const METRIC_NAMES = {
  svidsIssued: 'svid_agent_x509_svids_issued_total',
  svidRotations: 'svid_agent_x509_svid_rotations_total',
  workloadApiCalls: 'svid_agent_workload_api_calls_total',
  attestations: 'svid_agent_attestations_total',
  tokenReviewDuration: 'svid_agent_token_review_duration_seconds',
  openStreams: 'svid_agent_workload_api_open_streams',
  identities: 'svid_agent_identities',
  issuerNotAfter: 'svid_agent_issuer_not_after_timestamp_seconds',
  trustAnchorsNotAfter: 'svid_agent_trust_anchors_not_after_timestamp_seconds',
  ready: 'svid_agent_ready',
  issuerChainsToAnchors: 'svid_agent_issuer_chains_to_anchors',
  issuerReachable: 'svid_agent_issuer_reachable',
  openConnections: 'svid_agent_workload_api_open_connections',
  connectionsRefused: 'svid_agent_connections_refused_total',
  streamsRefused: 'svid_agent_streams_refused_total',
  connectionsClosed: 'svid_agent_connections_closed_total',
} as const;
