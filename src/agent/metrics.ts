/**
 * Prometheus metrics of one agent (docs/cli.md, issue 6), served on `/metrics`.
 *
 * Each agent has a registry of its own: prom-client's default registry is process-wide, and two
 * agents in one process (tests) must not share counters. Producers report through small hooks
 * (the agent's, the attestor's, the TokenReview validator's); state gauges (identities, expiry,
 * readiness) are read at scrape time from {@link MetricSources}, so they cannot go stale.
 */
import { status } from '@grpc/grpc-js';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AttestationOutcome } from '../attestor/index.js';
import type { TokenReviewObservation } from '../attestor/kubernetes.js';
import { scrapedGauge, timestampSeconds } from '../metric-gauges.js';
import type { ConnectionLimitsObserver } from './connection-limits.js';
import { METRIC_NAMES } from './metric-names.js';
import type { IssuedSvid } from './svid-store.js';

/** TokenReview latency buckets, seconds: a healthy API answers in ms; the call is cut at 5 s. */
const TOKEN_REVIEW_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Where the state gauges read from, at scrape time. */
export interface MetricSources {
  /** Identities the SVID store holds. */
  identities(): number;
  /**
   * The loaded issuer's `notAfter`, ms since the epoch; `undefined` when none is loaded. Absent
   * with the central issuer (the agent holds none): the gauge is then not registered.
   */
  issuerNotAfterMs?(): number | undefined;
  /** The earliest `notAfter` among the trust anchors, ms since the epoch. */
  trustAnchorsNotAfterMs(): number | undefined;
  /** Same answer as `/ready`. */
  ready(): boolean;
  /** Whether the issuer in use chains to the trust anchors in use (issue 5); absent with the central issuer. */
  issuerChainsToAnchors?(): boolean;
  /** Open Workload API connections. */
  openConnections(): number;
}

/** One agent's metrics: hooks for the producers, and the text for `/metrics`. */
export interface AgentMetrics {
  /** `Content-Type` of {@link render}'s text. */
  readonly contentType: string;
  /** The Prometheus text exposition of every metric. */
  render(): Promise<string>;
  /** `WorkloadAgentOptions.onIssued`. */
  readonly onIssued: (svid: IssuedSvid, rotation: boolean) => void;
  /** `WorkloadAgentOptions.onCallResult`; `code` is a gRPC status name or `OK`. */
  readonly onCallResult: (method: string, code: string) => void;
  /** `WorkloadAgentOptions.onStreamsChanged`. */
  readonly onStreamsChanged: (open: number) => void;
  /** The attestors' `onOutcome`. */
  readonly onAttestation: (outcome: AttestationOutcome) => void;
  /** The TokenReview validator's `onReview`. */
  readonly onTokenReview: (observation: TokenReviewObservation) => void;
  /** The connection limits' hooks: refusals and closes by reason (issue 15). */
  readonly limits: Required<ConnectionLimitsObserver>;
  /**
   * Registers the state gauges, read from `sources` at every scrape. Called once, when the
   * agent they describe exists (its hooks are built before it).
   * @throws TypeError when called twice
   */
  observe(sources: MetricSources): void;
  /** Registers `svid_agent_issuer_reachable` (central issuer only), read at every scrape. */
  observeIssuerReachable(reachable: () => boolean): void;
}

/** A status code as its name (`PERMISSION_DENIED`), whether a hook passed the name or the number. */
const codeName = (code: string): string => (/^\d+$/.test(code) ? (status[Number(code)] ?? code) : code);

/**
 * Observations recorded after the turn of the loop that made them, all in one `setImmediate`:
 * prom-client checks and hashes the labels of every observation, which took ~50 µs of a pod's first
 * SVID while that code was cold, all of it before the answer reached the wire. `flush` records
 * what waits at once, so a scrape sees every observation made before it. In order, so a gauge
 * ends at the last value set.
 */
interface Deferred {
  /** `record`, run after this turn with the same arguments. */
  later<A extends unknown[]>(record: (...args: A) => void): (...args: A) => void;
  flush(): void;
}

function createDeferred(): Deferred {
  let queued: Array<() => void> = [];
  let scheduled = false;
  const flush = (): void => {
    const due = queued;
    queued = [];
    for (const record of due) {
      try {
        record();
      } catch {
        // An observation prom-client refuses (a value that is not a number) is dropped, not
        // thrown out of the loop's turn where nothing could catch it.
      }
    }
  };
  const onImmediate = (): void => {
    scheduled = false;
    flush();
  };
  return {
    later:
      (record) =>
      (...args) => {
        queued.push(() => record(...args));
        if (!scheduled) {
          scheduled = true;
          setImmediate(onImmediate);
        }
      },
    flush,
  };
}

/** Creates the metrics of one agent in a fresh registry. */
export function createAgentMetrics(): AgentMetrics {
  const deferred = createDeferred();
  const { later } = deferred;
  const registry = new Registry();
  const registers = [registry];
  const issued = new Counter({ name: METRIC_NAMES.svidsIssued, help: 'X.509-SVIDs issued, rotations included', registers });
  const rotations = new Counter({
    name: METRIC_NAMES.svidRotations,
    help: 'X.509-SVIDs issued to replace one before it expires',
    registers,
  });
  const calls = new Counter({
    name: METRIC_NAMES.workloadApiCalls,
    help: 'Workload API calls by method and gRPC status (streams count once, when set up or refused)',
    labelNames: ['method', 'code'] as const,
    registers,
  });
  const attestations = new Counter({
    name: METRIC_NAMES.attestations,
    help: 'Workload attestations by attestor, result (attested, refused, unavailable, cancelled) and reason',
    labelNames: ['attestor', 'result', 'reason'] as const,
    registers,
  });
  const tokenReviews = new Histogram({
    name: METRIC_NAMES.tokenReviewDuration,
    help: 'Kubernetes TokenReview call latency by result (ok, error); cache hits are not calls',
    labelNames: ['result'] as const,
    buckets: TOKEN_REVIEW_BUCKETS,
    registers,
  });
  const openStreams = new Gauge({ name: METRIC_NAMES.openStreams, help: 'Open Workload API streams', registers });
  const reasonCounter = (name: string, help: string) => new Counter({ name, help, labelNames: ['reason'] as const, registers });
  const connectionsRefused = reasonCounter(
    METRIC_NAMES.connectionsRefused,
    'Workload API connections refused at accept, by reason (total_limit, caller_limit, placement_busy, unplaced)',
  );
  const streamsRefused = reasonCounter(
    METRIC_NAMES.streamsRefused,
    'Workload API calls refused with RESOURCE_EXHAUSTED, by reason (total_limit, caller_limit)',
  );
  const connectionsClosed = reasonCounter(
    METRIC_NAMES.connectionsClosed,
    'Workload API connections the agent closed, by reason (hangup, no_call, idle)',
  );
  let observed = false;

  return {
    contentType: registry.contentType,
    render: () => {
      deferred.flush();
      return registry.metrics();
    },
    onIssued: later((_svid: IssuedSvid, rotation: boolean) => {
      issued.inc();
      if (rotation) rotations.inc();
    }),
    onCallResult: later((method: string, code: string) => calls.inc({ method, code: codeName(code) })),
    onStreamsChanged: later((open: number) => openStreams.set(open)),
    onAttestation: later(({ attestor, result, reason }: AttestationOutcome) => attestations.inc({ attestor, result, reason })),
    onTokenReview: later(({ durationMs, result }: TokenReviewObservation) => tokenReviews.observe({ result }, durationMs / 1000)),
    limits: {
      onConnectionRefused: later((reason: string) => connectionsRefused.inc({ reason })),
      onStreamRefused: later((reason: string) => streamsRefused.inc({ reason })),
      onConnectionClosed: later((reason: string) => connectionsClosed.inc({ reason })),
    },
    observe(sources) {
      if (observed) throw new TypeError('metric sources are already set');
      observed = true;
      const gauge = (name: string, help: string, read: () => number) => scrapedGauge(registers, name, help, read);
      gauge(METRIC_NAMES.identities, 'Identities (SPIFFE IDs) the agent holds an X.509-SVID for', sources.identities);
      gauge(METRIC_NAMES.openConnections, 'Open Workload API connections', sources.openConnections);
      const issuerNotAfterMs = sources.issuerNotAfterMs;
      if (issuerNotAfterMs) {
        gauge(METRIC_NAMES.issuerNotAfter, 'Expiry of the issuer certificate chain, Unix seconds (0 when no issuer is loaded)', () =>
          timestampSeconds(issuerNotAfterMs()),
        );
      }
      gauge(METRIC_NAMES.trustAnchorsNotAfter, 'Earliest expiry among the trust anchors, Unix seconds', () =>
        timestampSeconds(sources.trustAnchorsNotAfterMs()),
      );
      gauge(METRIC_NAMES.ready, '1 when /ready answers 200, else 0', () => (sources.ready() ? 1 : 0));
      const chains = sources.issuerChainsToAnchors;
      if (chains) {
        gauge(METRIC_NAMES.issuerChainsToAnchors, '1 when the issuer in use chains to the trust anchors in use, else 0', () =>
          chains() ? 1 : 0,
        );
      }
    },
    observeIssuerReachable(reachable) {
      scrapedGauge(
        registers,
        METRIC_NAMES.issuerReachable,
        '1 while the central issuer answers the agent, else 0 (the agent keeps serving the identities it holds)',
        () => (reachable() ? 1 : 0),
      );
    },
  };
}
