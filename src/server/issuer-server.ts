/**
 * The composition root of `svid-agent issuer`, the central issuer (docs/central-issuer.md): builds
 * a running issuer from its configuration, as `src/agent/agent.ts` does for `run`.
 *
 * Order: credentials (refuse to start when unusable) → Kubernetes client and the tokenreviews
 * access check (refuse when denied; an unreachable API is logged, not fatal: renewals on tickets
 * must work in an outage) → TokenReview validators (agent and workload audiences) → JWT keys →
 * signer, ticket keys, the node service and Linkerd's `Certify` (docs/linkerd-identity.md) on one
 * gRPC server → credential reloader → own TLS certificate → `/live`, `/ready`, `/metrics` → the
 * port both services share. Everything started is closed again when a later step fails.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { KubeApi } from '../attestor/kubernetes.js';
import { type Clock, systemClock } from '../clock.js';
import { type HttpEndpoints, type ReadinessChecks, readinessReport, startHttpEndpoints } from '../http-endpoints.js';
import { accountFromName, type NamingConfig, spiffeIdFor } from '../identity.js';
import {
  createCertifier,
  createRenewalKeys,
  type IssuerCredentials,
  loadStartupCredentials,
  startCredentialReloader,
  startSigners,
} from '../issuer/index.js';
import type { Logger } from '../log.js';
import { linkerdIdentityDefinition, nodeIssuerDefinition } from '../protos.js';
import { serveUntilAborted } from '../serve-until-aborted.js';
import { createValueChannel } from '../value-channel.js';
import { createBundleWatch } from './bundle-watch.js';
import { createCertifyHandler } from './certify-handler.js';
import type { IssuerServerConfig } from './config.js';
import { createJwtMinting } from './jwt-minting.js';
import { createIssuerMetrics, type IssuerMetrics } from './metrics.js';
import { createNodeAuth } from './node-auth.js';
import { createNodeHandlers } from './node-handlers.js';
import { listenForNodes, type NodeListener } from './node-listener.js';
import type { OwnNames } from './node-rules.js';
import { createNodeRateLimit } from './rate-limit.js';
import { type ServerTls, startServerTls } from './server-tls.js';
import { watchTokenReviewAccess } from './tokenreview-access.js';
import { createX509Issuance } from './x509-issuance.js';

/** What the issuer takes from its caller besides the configuration. */
export interface IssuerServerDeps {
  readonly logger: Logger;
  /** Default the wall clock. */
  readonly clock?: Clock;
  /** The Kubernetes API (TokenReview, SelfSubjectAccessReview); default a client of `--kubeconfig` (benchmarks stub it). */
  readonly kubeApi?: KubeApi;
}

/** A started issuer, and what tests and the HTTP endpoints need from it. */
export interface RunningIssuer {
  /** The port of the node service and Linkerd's `Certify`. */
  readonly port: number;
  /** Where `/live`, `/ready` and `/metrics` are served; `undefined` without `--health-addr`. */
  readonly httpUrl: string | undefined;
  readonly metrics: IssuerMetrics;
  /** `/ready`'s answer now. */
  ready(): boolean;
  /** Checks the credential files now instead of waiting for the file watch or the poll. */
  reloadCredentials(): Promise<void>;
  /** Issues the TLS certificate anew now (a no-op with `--plaintext`). */
  renewServerCertificate(): void;
  /** Stops serving; bounded by `--shutdown-timeout`. */
  stop(): Promise<void>;
}

/** The names the issuer never signs for anyone else: its server name, and that account's SPIFFE ID. */
export function ownNamesOf(serverName: string, naming: NamingConfig): OwnNames {
  const account = accountFromName(serverName, naming);
  return { dnsName: serverName, spiffeId: account ? spiffeIdFor(account, naming) : undefined };
}

/**
 * Builds everything from the configuration and starts serving.
 * @throws AgentError `CREDENTIALS_INVALID` / `CONFIG_INVALID` when the issuer must refuse to start
 *   (bad credentials, tokenreviews denied, an address that cannot be bound)
 */
export async function startIssuerServer(config: IssuerServerConfig, deps: IssuerServerDeps): Promise<RunningIssuer> {
  const { logger } = deps;
  const clock = deps.clock ?? systemClock;
  const naming: NamingConfig = { trustDomain: config.trustDomain, identityDomain: config.identityDomain };
  const own = ownNamesOf(config.serverName, naming);
  const { anchors, issuer } = await loadStartupCredentials(config, { now: clock.now(), logger });
  const metrics = createIssuerMetrics();
  const k8s = await import('../attestor/kubernetes.js');
  const api = deps.kubeApi ?? k8s.createKubeApi(await k8s.loadKubeConfig({ kubeconfigPath: config.kubeconfig }));
  // The kept-alive API connections are ours to close when we made them.
  const closeApi = () => {
    if (!deps.kubeApi) api.close();
  };
  const started: Array<() => unknown> = [closeApi];
  try {
    const access = await watchTokenReviewAccess({ check: () => k8s.checkTokenReviewAccess(api, { who: 'issuer' }), logger });
    started.push(() => access.close());
    const validator = (audience: string, which: 'agent' | 'workload') =>
      k8s.createTokenReviewValidator({ api, logger, audience, clock, onReview: (o) => metrics.onTokenReview(which, o) });
    const agentTokens = validator(config.agentAudience, 'agent');
    const workloadTokens = validator(config.tokenAudience, 'workload');
    started.push(
      () => agentTokens.close(),
      () => workloadTokens.close(),
    );
    const anchorsChannel = createValueChannel(anchors);
    const issuerChannel = createValueChannel<IssuerCredentials | undefined>(issuer);
    const chainOk = createValueChannel(true);
    const { jwt, signer } = await startSigners({
      issuer: issuerChannel.receiver,
      anchors: anchorsChannel.receiver,
      jwtKey: config.jwtKey,
      jwtTtlMs: config.jwtTtlMs,
      svidTtlMs: config.svidTtlMs,
      clockSkewMs: config.clockSkewMs,
      clock,
      logger,
    });
    started.push(() => jwt.close());
    // A previous issuer's tickets stay good for one SVID lifetime after a swap.
    const renewalKeys = createRenewalKeys({ issuer: issuerChannel.receiver, clock, previousKeyGraceMs: config.svidTtlMs });
    started.push(() => renewalKeys.close());
    const auth = createNodeAuth({
      agentTokens,
      workloadTokens,
      agentAccount: config.agentServiceAccount,
      naming,
      rateLimit: createNodeRateLimit({ clock }),
    });
    const bundles = createBundleWatch({ jwtKeys: jwt.keys, issuer: issuerChannel.receiver, onStreamsChanged: metrics.onBundleStreams });
    started.push(() => bundles.close());
    const server = new Server({
      // Nothing serves channelz, and its per-call bookkeeping costs every call (docs/performance.md).
      'grpc.enable_channelz': 0,
      'grpc.max_concurrent_streams': 1000,
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
    });
    server.addService(
      nodeIssuerDefinition(),
      createNodeHandlers({
        auth,
        x509: createX509Issuance({ auth, signer, renewalKeys, naming, own, svidTtlMs: config.svidTtlMs, clock }),
        jwt: createJwtMinting({ auth, keys: jwt.keys, ttlMs: config.jwtTtlMs, own, clock }),
        bundles,
        metrics,
        logger,
      }),
    );
    // Proxies ask for themselves with their own pod's token: the workload validator, no node rule.
    const certifier = createCertifier({
      issuer: issuerChannel.receiver,
      validator: workloadTokens,
      naming,
      clock,
      lifetimeMs: config.svidTtlMs,
      clockSkewMs: config.clockSkewMs,
      logger,
      reserved: own,
    });
    server.addService(linkerdIdentityDefinition(), createCertifyHandler({ certifier, metrics, logger }));
    const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
    started.push(() => server.forceShutdown());
    const reloader = await startCredentialReloader({
      trustAnchorsPath: config.trustAnchors,
      issuerDir: config.issuerDir,
      initial: { anchors, issuer },
      anchorsSink: anchorsChannel.sink,
      issuerSink: issuerChannel.sink,
      chainOkSink: chainOk.sink,
      clock,
      logger,
    });
    started.push(() => reloader.close());
    let listener: NodeListener | undefined;
    const tls: ServerTls | undefined = config.plaintext
      ? undefined
      : startServerTls({
          issuer: issuerChannel.receiver,
          serverName: config.serverName,
          spiffeId: own.spiffeId,
          clock,
          lifetimeMs: config.svidTtlMs,
          clockSkewMs: config.clockSkewMs,
          onCertificate: (certificate) => listener?.setCertificate(certificate),
          logger,
        });
    started.push(() => tls?.close());
    const readiness: ReadinessChecks = {
      issuer: { get: () => issuerChannel.receiver.get() !== undefined },
      issuer_chains_to_anchors: chainOk.receiver,
      tokenreviews_allowed: { get: () => access.access.get() === 'allowed' },
    };
    metrics.observe({
      issuerNotAfterMs: () => issuerChannel.receiver.get()?.notAfter,
      trustAnchorsNotAfterMs: () => anchorsChannel.receiver.get().notAfter,
      serverCertificateNotAfterMs: () => tls?.current().notAfter,
      ready: () => readinessReport(readiness).ready,
    });
    const http: HttpEndpoints | undefined =
      config.healthAddr === '' ? undefined : await startHttpEndpoints({ address: config.healthAddr, readiness, metrics, logger });
    started.push(() => http?.close());
    listener = await listenForNodes({ address: config.listen, certificate: tls?.current(), injector, logger });
    return {
      port: listener.port,
      httpUrl: http?.url,
      metrics,
      ready: () => readinessReport(readiness).ready,
      async reloadCredentials() {
        await reloader.reload();
        await jwt.reload();
      },
      renewServerCertificate: () => tls?.renew(),
      async stop() {
        reloader.close();
        jwt.close();
        tls?.close();
        access.close();
        bundles.close();
        const graceful = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        const timer = setTimeout(() => server.forceShutdown(), config.shutdownTimeoutMs);
        await Promise.all([graceful, listener?.close(config.shutdownTimeoutMs)]);
        clearTimeout(timer);
        injector.destroy();
        agentTokens.close();
        workloadTokens.close();
        renewalKeys.close();
        closeApi();
        await http?.close();
      },
    };
  } catch (err) {
    for (const close of started.reverse()) await close();
    throw err;
  }
}

/** What {@link runIssuerServer} takes besides {@link IssuerServerDeps}. */
export interface RunIssuerServerDeps extends IssuerServerDeps {
  /** Aborted when the issuer should stop (SIGTERM, SIGINT). */
  readonly signal: AbortSignal;
  /** Called once the node service serves. */
  readonly onServing?: (issuer: RunningIssuer) => void;
}

/**
 * Builds the issuer, serves until `signal` is aborted, then stops within `--shutdown-timeout`.
 * @throws what {@link startIssuerServer} throws when the issuer cannot start
 */
export async function runIssuerServer(config: IssuerServerConfig, deps: RunIssuerServerDeps): Promise<void> {
  await serveUntilAborted(await startIssuerServer(config, deps), deps.signal, deps.onServing);
}
