/**
 * The composition root: builds a running agent from its configuration, as SPIRE's
 * `pkg/agent/agent.go` does for `cmd/spire-agent/cli/run`. The CLI parses the configuration and
 * calls {@link runAgent}; tests call {@link startAgent} and stop it themselves.
 *
 * Order: trust anchors → the issuing side (embedded: issuer credentials, attestor — may refuse:
 * tokenreviews denied —, JWT keys, X.509-SVID signer; central: the node-service client, the
 * attestor reviewing through it, the remote issuing port) → Workload API server → credential
 * reloader → `/live`, `/ready`, `/metrics` → socket. Everything started is closed again when a
 * later step fails.
 */

import { createCallerGroups, createPeerTracker, createProcReader } from '../attestor/index.js';
import { type Clock, monotonicClock, systemClock } from '../clock.js';
import type { HttpEndpoints, ReadinessChecks } from '../http-endpoints.js';
import type { NamingConfig } from '../identity.js';
import {
  type IssuerCredentials,
  loadTrustAnchors,
  startCredentialReloader,
  type TrustAnchors,
  warnSkippedAnchors,
} from '../issuer/index.js';
import type { Logger } from '../log.js';
import { serveUntilAborted } from '../serve-until-aborted.js';
import { createValueChannel, type Receiver } from '../value-channel.js';
import type { AgentConfig } from './config.js';
import { REISSUE_SPREAD_MS, startEmbeddedIssuing } from './embedded-issuing.js';
import { fullCollection, startIdleCollector } from './idle-collect.js';
import type { Issuing, IssuingDeps } from './issuing.js';
import type { AgentMetrics } from './metrics.js';
import { createMetricsOff } from './metrics-off.js';
import { createWorkloadApiServer, type WorkloadApiServer } from './workload-api-server.js';

export { REISSUE_SPREAD_MS } from './embedded-issuing.js';

/** What the agent takes from its caller besides the configuration. */
export interface AgentDeps {
  readonly logger: Logger;
  /** Default the wall clock. */
  readonly clock?: Clock;
  /** Uniform in [0, 1): jitter of renewals, retries and re-issues; default `Math.random`. */
  readonly random?: () => number;
}

/** A started agent, and what tests and the HTTP endpoints need from it. */
export interface RunningAgent {
  readonly workloadApi: WorkloadApiServer;
  readonly metrics: AgentMetrics;
  /** Where `/live`, `/ready` and `/metrics` are served; `undefined` with `--health-addr ''`. */
  readonly httpUrl: string | undefined;
  /** False while the issuer in use does not chain to the trust anchors in use (a loud problem); always true in central mode. */
  readonly issuerChainsToAnchors: Receiver<boolean>;
  /** Central mode: whether the issuer answers; `undefined` with the embedded issuer. */
  readonly issuerReachable: Receiver<boolean> | undefined;
  /** Checks the credential files now instead of waiting for the file watch or the poll. */
  reloadCredentials(): Promise<void>;
  /** Stops serving; bounded by `--shutdown-timeout`. */
  stop(): Promise<void>;
}

/** The embedded issuer, or the central one with `--issuer-addr`. */
async function startIssuing(config: AgentConfig, deps: IssuingDeps): Promise<Issuing> {
  // Loaded only with --issuer-addr: its node-service client and the Kubernetes attestor.
  if (config.centralIssuer) return (await import('./central-issuing.js')).startCentralIssuing(config, config.centralIssuer, deps);
  if (config.issuerDir === undefined) throw new TypeError('the embedded issuer needs an issuer directory');
  return startEmbeddedIssuing(config, config.issuerDir, deps);
}

/**
 * Builds everything from the configuration and starts serving.
 * @throws AgentError `CREDENTIALS_INVALID` / `CONFIG_INVALID` when the agent must refuse to start
 */
export async function startAgent(config: AgentConfig, deps: AgentDeps): Promise<RunningAgent> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const naming: NamingConfig = { trustDomain: config.trustDomain, identityDomain: config.identityDomain };
  const anchors = await loadTrustAnchors(config.trustAnchors, { now: clock.now() });
  warnSkippedAnchors(logger.child({ subsystem: 'credentials' }), config.trustAnchors, anchors);
  // prom-client and the HTTP listener are loaded only when `/metrics` is served.
  const metrics = config.healthAddr === '' ? createMetricsOff() : (await import('./metrics.js')).createAgentMetrics();
  const anchorsChannel = createValueChannel(anchors);
  const chainOk = createValueChannel(true);
  const issuing = await startIssuing(config, {
    anchors: anchorsChannel.receiver,
    metrics,
    logger,
    clock,
    ...(deps.random ? { random: deps.random } : {}),
  });
  // What has been started, closed in reverse if a later step fails.
  const started: Array<() => unknown> = [() => issuing.close()];
  try {
    const proc = createProcReader({ procRoot: config.procRoot });
    const peers = createPeerTracker({ proc });
    // Connection and stream budgets are per pod in Kubernetes mode (every Linkerd proxy is uid 2102).
    const callerGroups = createCallerGroups({ mode: config.attestor === 'k8s' ? 'pod' : 'uid', proc, clock });
    // Quiet time is monotonic real time, whatever clock the certificates follow.
    const collect = fullCollection();
    const idle = collect ? startIdleCollector({ collect, clock: monotonicClock }) : undefined;
    started.push(() => idle?.close());
    const workloadApi = createWorkloadApiServer({
      socketPath: config.socket,
      naming,
      attestor: issuing.attestor,
      issuer: issuing.x509,
      anchors: anchorsChannel.receiver,
      refresh: { minRefreshMs: config.minRefreshMs, maxRefreshMs: config.maxRefreshMs },
      svidIdleTtlMs: config.svidIdleTtlMs,
      peers,
      callerGroups,
      limits: {
        maxConnections: config.maxConnections,
        maxCallerConnections: config.maxCallerConnections,
        maxStreams: config.maxStreams,
        maxCallerStreams: config.maxCallerStreams,
      },
      onLimits: metrics.limits,
      ...(idle ? { onConnection: () => idle.touch() } : {}),
      clock,
      ...(deps.random ? { random: deps.random } : {}),
      jwt: issuing.jwt,
      logger,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      onIssued: metrics.onIssued,
      onCallResult: metrics.onCallResult,
      onStreamsChanged: metrics.onStreamsChanged,
    });
    issuing.attach(workloadApi.store);
    const embedded = issuing.issuer;
    const reloader = await startCredentialReloader({
      trustAnchorsPath: config.trustAnchors,
      issuerDir: embedded ? config.issuerDir : undefined,
      initial: { anchors, issuer: embedded?.initial },
      anchorsSink: anchorsChannel.sink,
      issuerSink: embedded?.channel.sink ?? createValueChannel<IssuerCredentials | undefined>(undefined).sink,
      chainOkSink: chainOk.sink,
      onIssuerChanged: () => workloadApi.store.reissueAll(REISSUE_SPREAD_MS),
      clock,
      logger,
    });
    started.push(() => reloader.close());
    // Listening before the socket: probes see "not ready" rather than nothing while it starts.
    const http = await serveHealthAndMetrics(config.healthAddr, {
      metrics,
      workloadApi,
      issuer: embedded?.channel.receiver,
      anchors: anchorsChannel.receiver,
      issuerChainsToAnchors: chainOk.receiver,
      logger,
    });
    started.push(() => http?.close());
    await workloadApi.start();
    return {
      workloadApi,
      metrics,
      httpUrl: http?.url,
      issuerChainsToAnchors: chainOk.receiver,
      issuerReachable: issuing.reachable,
      async reloadCredentials() {
        await reloader.reload();
        await issuing.reload();
      },
      async stop() {
        reloader.close();
        // `/ready` answers 503 while streams drain; the listener goes last.
        await workloadApi.stop();
        idle?.close();
        issuing.close();
        await http?.close();
      },
    };
  } catch (err) {
    for (const close of started.reverse()) await close();
    throw err;
  }
}

/** What {@link runAgent} takes besides {@link AgentDeps}. */
export interface RunAgentDeps extends AgentDeps {
  /** Aborted when the agent should stop (SIGTERM, SIGINT). */
  readonly signal: AbortSignal;
  /** Called once the socket serves. */
  readonly onServing?: () => void;
}

/**
 * Builds the agent, serves until `signal` is aborted, then stops within `--shutdown-timeout`.
 * @throws what {@link startAgent} throws when the agent cannot start
 */
export async function runAgent(config: AgentConfig, deps: RunAgentDeps): Promise<void> {
  await serveUntilAborted(await startAgent(config, deps), deps.signal, () => deps.onServing?.());
}

/** What `/ready` and the state gauges read. */
interface HealthSources {
  readonly metrics: AgentMetrics;
  readonly workloadApi: Pick<WorkloadApiServer, 'ready' | 'store' | 'openConnections'>;
  /** The embedded issuer in use (`undefined` while none is loaded); absent with the central issuer. */
  readonly issuer: Receiver<IssuerCredentials | undefined> | undefined;
  readonly anchors: Receiver<TrustAnchors>;
  /** False while the issuer does not chain to the anchors (after an anchor rotation dropped its root). */
  readonly issuerChainsToAnchors: Receiver<boolean>;
  readonly logger: Logger;
}

/**
 * Points the state gauges at the agent and starts the `--health-addr` listener. Ready means: an
 * issuer is loaded, it chains to the trust anchors in use, and the Workload API socket serves
 * (issues 5 and 6). An issuer cut off from the anchors keeps signing — workloads keep their
 * identities — but the node reports not ready, so the problem is loud, not silent. With the
 * central issuer, ready means the socket serves: an issuer away must not stall a rollout (the
 * identities held keep being served; `svid_agent_issuer_reachable` and the log say it is away).
 * @returns the listener, or `undefined` when `address` is `''` (then the metrics are off)
 * @throws AgentError `CONFIG_INVALID` when the address cannot be bound
 */
async function serveHealthAndMetrics(address: string, sources: HealthSources): Promise<HttpEndpoints | undefined> {
  if (address === '') return undefined;
  const { readinessReport, startHttpEndpoints } = await import('../http-endpoints.js');
  const { workloadApi, issuer, anchors, metrics } = sources;
  const readiness: ReadinessChecks = issuer
    ? {
        issuer: { get: () => issuer.get() !== undefined },
        issuer_chains_to_anchors: sources.issuerChainsToAnchors,
        socket: workloadApi.ready,
      }
    : { socket: workloadApi.ready };
  metrics.observe({
    identities: () => workloadApi.store.size(),
    openConnections: () => workloadApi.openConnections(),
    ...(issuer ? { issuerNotAfterMs: () => issuer.get()?.notAfter, issuerChainsToAnchors: () => sources.issuerChainsToAnchors.get() } : {}),
    trustAnchorsNotAfterMs: () => anchors.get().notAfter,
    ready: () => readinessReport(readiness).ready,
  });
  return startHttpEndpoints({ address, readiness, metrics, logger: sources.logger });
}
