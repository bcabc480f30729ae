/**
 * `svid-agent run`: composition only. Load credentials, build the attestor, certifier and
 * agent, serve until SIGTERM/SIGINT, shut down within the configured bound.
 */

import { dirname } from 'node:path';
import { type AgentMetrics, createAgentMetrics, createAttestedGrants, createWorkloadAgent, type WorkloadAgent } from '../agent/index.js';
import type { WorkloadAttestor } from '../attestor/index.js';
import { createProcReader, createUnixAttestor } from '../attestor/index.js';
import { type Clock, systemClock } from '../clock.js';
import type { NamingConfig } from '../identity.js';
import {
  createCertifier,
  type IssuerCredentials,
  loadIssuer,
  loadTrustAnchors,
  startCredentialReloader,
  warnSkippedAnchors,
} from '../issuer/index.js';
import { createLogger, type Logger } from '../log.js';
import { createWatch, type Receiver } from '../watch.js';
import { ensureDevCredentials } from './dev-credentials.js';
import { devServingMessage } from './invocation.js';
import { setUpJwt } from './jwt-setup.js';
import { startOperations } from './operations.js';
import type { RunConfig } from './run-config.js';
import { explainStartFailure } from './start-failure.js';

export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_CONFIG = 2;

interface CredentialPaths {
  readonly trustAnchors: string;
  readonly issuerDir: string;
  readonly jwtKey: string | undefined;
}

async function credentialPaths(config: RunConfig, logger: Logger): Promise<CredentialPaths> {
  if (!config.dev) return { trustAnchors: config.trustAnchors, issuerDir: config.issuerDir, jwtKey: config.jwtKey };
  const dev = await ensureDevCredentials(config.devDir, { trustDomain: config.trustDomain, logger });
  return {
    trustAnchors: config.trustAnchors || dev.trustAnchors,
    issuerDir: config.issuerDir || dev.issuerDir,
    jwtKey: config.jwtKey ?? dev.jwtKey,
  };
}

async function createAttestor(config: RunConfig, logger: Logger, metrics: AgentMetrics): Promise<WorkloadAttestor> {
  if (config.attestor === 'unix') return createUnixAttestor({ onOutcome: metrics.onAttestation });
  const { createK8sAttestorFromConfig } = await import('./k8s-setup.js');
  return createK8sAttestorFromConfig(config, logger, { onOutcome: metrics.onAttestation, onReview: metrics.onTokenReview });
}

/** Waits for SIGTERM or SIGINT. */
function untilSignal(logger: Logger): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      logger.info({ signal }, 'shutting down');
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** A started agent and what tests and the HTTP endpoints need from it. */
export interface RunningAgent {
  readonly agent: WorkloadAgent;
  readonly metrics: AgentMetrics;
  /** Where `/live`, `/ready` and `/metrics` are served; `undefined` with `--health-addr ''`. */
  readonly httpUrl: string | undefined;
  /** False while the issuer in use does not chain to the trust anchors in use (a loud problem). */
  readonly issuerChainsToAnchors: Receiver<boolean>;
  /** Checks the credential files now instead of waiting for the watch or the poll. */
  reloadCredentials(): Promise<void>;
  /** Stops serving; bounded by `--shutdown-timeout`. */
  stop(): Promise<void>;
}

/** After an issuer swap every identity is re-issued, spread over this window (not all at once). */
export const REISSUE_SPREAD_MS = 5_000;

/** Dependencies that tests replace. */
export interface StartDeps {
  readonly logger: Logger;
  readonly clock?: Clock;
}

/**
 * Builds everything from the configuration and starts serving.
 * @throws AgentError `CREDENTIALS_INVALID` / `CONFIG_INVALID` when the agent must refuse to start
 */
export async function startAgent(config: RunConfig, deps: StartDeps): Promise<RunningAgent> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const naming: NamingConfig = { trustDomain: config.trustDomain, identityDomain: config.identityDomain };
  const paths = await credentialPaths(config, logger);
  const anchors = await loadTrustAnchors(paths.trustAnchors, { now: clock.now() });
  warnSkippedAnchors(logger.child({ subsystem: 'credentials' }), paths.trustAnchors, anchors);
  const issuer = await loadIssuer(paths.issuerDir, anchors, { now: clock.now() });
  logger.info(
    {
      path: issuer.certificatePath,
      subject: issuer.certificate.subject,
      not_after: new Date(issuer.notAfter).toISOString(),
      anchors: anchors.certificates.length,
    },
    'loaded issuer credentials',
  );
  // The attestor first: it may refuse to start (tokenreviews denied) before anything runs.
  const metrics = createAgentMetrics();
  const attestor = await createAttestor(config, logger, metrics);
  const anchorsWatch = createWatch(anchors);
  const issuerWatch = createWatch<IssuerCredentials | undefined>(issuer);
  const chainOk = createWatch(true);
  // What has been started, closed in reverse if a later step fails.
  const started: Array<() => unknown> = [];
  try {
    const jwt = await setUpJwt({
      path: paths.jwtKey,
      trustDomain: naming.trustDomain,
      ttlMs: config.jwtTtlMs,
      forbidden: () => {
        const current = issuerWatch.receiver.get();
        return [...(current ? [current.privateKey] : []), ...anchorsWatch.receiver.get().certificates.map((c) => c.publicKey)];
      },
      clock,
      logger,
    });
    started.push(() => jwt.close());
    const grants = createAttestedGrants();
    const certifier = createCertifier({
      issuer: issuerWatch.receiver,
      validator: grants,
      naming,
      clock,
      lifetimeMs: config.svidTtlMs,
      clockSkewMs: config.clockSkewMs,
      logger,
    });
    const proc = createProcReader({ procRoot: config.procRoot });
    const agent = createWorkloadAgent({
      socketPath: config.socket,
      naming,
      attestor,
      certifier,
      grants,
      anchors: anchorsWatch.receiver,
      refresh: { minRefreshMs: config.minRefreshMs, maxRefreshMs: config.maxRefreshMs },
      readStartTime: (pid) => proc.readStartTime(pid),
      clock,
      extraHandlers: jwt.handlers,
      logger,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      onIssued: metrics.onIssued,
      onCallResult: metrics.onCallResult,
      onStreamsChanged: metrics.onStreamsChanged,
    });
    const reloader = await startCredentialReloader({
      trustAnchorsPath: paths.trustAnchors,
      issuerDir: paths.issuerDir,
      initial: { anchors, issuer },
      anchorsSink: anchorsWatch.sink,
      issuerSink: issuerWatch.sink,
      chainOkSink: chainOk.sink,
      onIssuerChanged: () => agent.store.reissueAll(REISSUE_SPREAD_MS),
      clock,
      logger,
    });
    started.push(() => reloader.close());
    // Listening before the socket: probes see "not ready" rather than nothing while it starts.
    const receivers = { issuer: issuerWatch.receiver, anchors: anchorsWatch.receiver, issuerChainsToAnchors: chainOk.receiver };
    const http = await startOperations({ healthAddr: config.healthAddr, metrics, agent, ...receivers, logger });
    started.push(() => http?.close());
    await agent.start();
    return {
      agent,
      issuerChainsToAnchors: chainOk.receiver,
      async reloadCredentials() {
        await reloader.reload();
        await jwt.reload();
      },
      metrics,
      httpUrl: http?.url,
      async stop() {
        reloader.close();
        jwt.close();
        // `/ready` answers 503 while streams drain; the listener goes last.
        await agent.stop();
        await http?.close();
      },
    };
  } catch (err) {
    for (const close of started.reverse()) await close();
    throw err;
  }
}

/** Options of {@link runAgent}. */
export interface RunAgentOptions {
  /** How to run this program, for the commands it prints (`svid-agent`, `node bin/svid-agent.js`). */
  readonly self?: string;
}

/** Runs the agent until SIGTERM/SIGINT; returns the process exit code (docs/cli.md). */
export async function runAgent(config: RunConfig, options: RunAgentOptions = {}): Promise<number> {
  const logger = createLogger({ level: config.logLevel });
  let running: RunningAgent;
  try {
    running = await startAgent(config, { logger });
  } catch (err) {
    // One line for a person (docs/cli.md), not also a JSON log line saying the same.
    const failure = explainStartFailure(err, config);
    process.stderr.write(`svid-agent: ${failure.message}\n`);
    return failure.exitCode;
  }
  if (config.dev) process.stdout.write(devServingMessage(config.socket, options.self ?? 'svid-agent', dirname(config.devDir)));
  await untilSignal(logger);
  await running.stop();
  return EXIT_OK;
}
