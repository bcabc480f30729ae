/**
 * The composition root: builds a running agent from its configuration, as SPIRE's
 * `pkg/agent/agent.go` does for `cmd/spire-agent/cli/run`. The CLI parses the configuration and
 * calls {@link runAgent}; tests call {@link startAgent} and stop it themselves.
 *
 * Order: credentials (refuse to start when unusable) → attestor (may refuse: tokenreviews denied)
 * → JWT keys → X.509-SVID signer → Workload API server → credential reloader → `/live`, `/ready`,
 * `/metrics` → socket. Everything started is closed again when a later step fails.
 */

import { createCallerGroups, createPeerTracker, createProcReader } from '../attestor/index.js';
import { type Clock, systemClock } from '../clock.js';
import type { NamingConfig } from '../identity.js';
import {
  createX509SvidSigner,
  type IssuerCredentials,
  loadIssuer,
  loadTrustAnchors,
  startCredentialReloader,
  type TrustAnchors,
  warnSkippedAnchors,
} from '../issuer/index.js';
import type { Logger } from '../log.js';
import { createValueChannel, type Receiver } from '../value-channel.js';
import { createAttestor } from './attestors.js';
import type { AgentConfig } from './config.js';
import { type HttpEndpoints, type ReadinessChecks, readinessReport, startHttpEndpoints } from './http-endpoints.js';
import { loadJwtKeys } from './jwt-keys.js';
import { type AgentMetrics, createAgentMetrics } from './metrics.js';
import { createWorkloadApiServer, type WorkloadApiServer } from './workload-api-server.js';

/** After an issuer swap every identity is re-issued, spread over this window (not all at once). */
export const REISSUE_SPREAD_MS = 5_000;

/** What the agent takes from its caller besides the configuration. */
export interface AgentDeps {
  readonly logger: Logger;
  /** Default the wall clock. */
  readonly clock?: Clock;
}

/** A started agent, and what tests and the HTTP endpoints need from it. */
export interface RunningAgent {
  readonly workloadApi: WorkloadApiServer;
  readonly metrics: AgentMetrics;
  /** Where `/live`, `/ready` and `/metrics` are served; `undefined` with `--health-addr ''`. */
  readonly httpUrl: string | undefined;
  /** False while the issuer in use does not chain to the trust anchors in use (a loud problem). */
  readonly issuerChainsToAnchors: Receiver<boolean>;
  /** Checks the credential files now instead of waiting for the file watch or the poll. */
  reloadCredentials(): Promise<void>;
  /** Stops serving; bounded by `--shutdown-timeout`. */
  stop(): Promise<void>;
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
  const issuer = await loadIssuer(config.issuerDir, anchors, { now: clock.now() });
  logger.info(
    {
      path: issuer.certificatePath,
      subject: issuer.certificate.subject,
      not_after: new Date(issuer.notAfter).toISOString(),
      anchors: anchors.certificates.length,
    },
    'loaded issuer credentials',
  );
  const metrics = createAgentMetrics();
  const attestation = await createAttestor(config, logger, metrics, clock);
  const anchorsChannel = createValueChannel(anchors);
  const issuerChannel = createValueChannel<IssuerCredentials | undefined>(issuer);
  const chainOk = createValueChannel(true);
  // What has been started, closed in reverse if a later step fails.
  const started: Array<() => unknown> = [() => attestation.close()];
  try {
    const jwt = await loadJwtKeys({
      path: config.jwtKey,
      ttlMs: config.jwtTtlMs,
      forbidden: () => {
        const current = issuerChannel.receiver.get();
        return [...(current ? [current.privateKey] : []), ...anchorsChannel.receiver.get().certificates.map((c) => c.publicKey)];
      },
      clock,
      logger,
    });
    started.push(() => jwt.close());
    // The embedded issuer: signs the workload keys' public halves with the issuer in use.
    const signer = createX509SvidSigner({
      issuer: issuerChannel.receiver,
      clock,
      lifetimeMs: config.svidTtlMs,
      clockSkewMs: config.clockSkewMs,
      logger,
    });
    const proc = createProcReader({ procRoot: config.procRoot });
    const peers = createPeerTracker({ proc });
    // Connection and stream budgets are per pod in Kubernetes mode (every Linkerd proxy is uid 2102).
    const callerGroups = createCallerGroups({ mode: config.attestor === 'k8s' ? 'pod' : 'uid', proc, clock });
    const workloadApi = createWorkloadApiServer({
      socketPath: config.socket,
      naming,
      attestor: attestation.attestor,
      issuer: signer,
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
      clock,
      jwtKeys: jwt.keys,
      jwtTtlMs: config.jwtTtlMs,
      logger,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      onIssued: metrics.onIssued,
      onCallResult: metrics.onCallResult,
      onStreamsChanged: metrics.onStreamsChanged,
    });
    const reloader = await startCredentialReloader({
      trustAnchorsPath: config.trustAnchors,
      issuerDir: config.issuerDir,
      initial: { anchors, issuer },
      anchorsSink: anchorsChannel.sink,
      issuerSink: issuerChannel.sink,
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
      issuer: issuerChannel.receiver,
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
      async reloadCredentials() {
        await reloader.reload();
        await jwt.reload();
      },
      async stop() {
        reloader.close();
        jwt.close();
        // `/ready` answers 503 while streams drain; the listener goes last.
        await workloadApi.stop();
        attestation.close();
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
  const running = await startAgent(config, deps);
  deps.onServing?.();
  if (!deps.signal.aborted) await new Promise((resolve) => deps.signal.addEventListener('abort', resolve, { once: true }));
  await running.stop();
}

/** What `/ready` and the state gauges read. */
interface HealthSources {
  readonly metrics: AgentMetrics;
  readonly workloadApi: Pick<WorkloadApiServer, 'ready' | 'store' | 'openConnections'>;
  /** The issuer in use; `undefined` while none is loaded. */
  readonly issuer: Receiver<IssuerCredentials | undefined>;
  readonly anchors: Receiver<TrustAnchors>;
  /** False while the issuer does not chain to the anchors (after an anchor rotation dropped its root). */
  readonly issuerChainsToAnchors: Receiver<boolean>;
  readonly logger: Logger;
}

/**
 * Points the state gauges at the agent and starts the `--health-addr` listener. Ready means: an
 * issuer is loaded, it chains to the trust anchors in use, and the Workload API socket serves
 * (issues 5 and 6). An issuer cut off from the anchors keeps signing — workloads keep their
 * identities — but the node reports not ready, so the problem is loud, not silent.
 * @returns the listener, or `undefined` when `address` is `''` (metrics are still kept)
 * @throws AgentError `CONFIG_INVALID` when the address cannot be bound
 */
async function serveHealthAndMetrics(address: string, sources: HealthSources): Promise<HttpEndpoints | undefined> {
  const { workloadApi, issuer, anchors, metrics } = sources;
  const readiness: ReadinessChecks = {
    issuer: { get: () => issuer.get() !== undefined },
    issuer_chains_to_anchors: sources.issuerChainsToAnchors,
    socket: workloadApi.ready,
  };
  metrics.observe({
    identities: () => workloadApi.store.size(),
    openConnections: () => workloadApi.openConnections(),
    issuerNotAfterMs: () => issuer.get()?.notAfter,
    trustAnchorsNotAfterMs: () => anchors.get().notAfter,
    ready: () => readinessReport(readiness).ready,
    issuerChainsToAnchors: () => sources.issuerChainsToAnchors.get(),
  });
  if (address === '') return undefined;
  return startHttpEndpoints({ address, readiness, metrics, logger: sources.logger });
}
