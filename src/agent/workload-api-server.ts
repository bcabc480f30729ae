/**
 * The Workload API server: gRPC server, socket, handlers (X.509, JWT, health), SVID store.
 * `agent.ts` builds its dependencies (credentials, attestor, certifier, JWT keys) and passes them in.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { CallerGroups, PeerTracker, TrackedPeer, WorkloadAttestor } from '../attestor/index.js';
import type { Clock } from '../clock.js';
import type { NamingConfig } from '../identity.js';
import type { RefreshPolicy, TrustAnchors } from '../issuer/index.js';
import type { Logger } from '../log.js';
import { createValueChannel, type Receiver } from '../value-channel.js';
import { createCallerResolver } from './caller-resolver.js';
import { type ConnectionLimits, type ConnectionLimitsObserver, enforceConnectionLimits } from './connection-limits.js';
import { createConnectionRegistry } from './connections.js';
import { agentServices } from './grpc-services.js';
import { createHealthHandlers } from './health-handler.js';
import { createJwtHandlers } from './jwt-handler.js';
import type { JwtSource } from './jwt-source.js';
import { createJwtSvidCache } from './jwt-svid-cache.js';
import { listenOnSocket, type SocketServer } from './socket-server.js';
import { createStreamRegistry } from './stream-registry.js';
import { createSvidStore, type IssuedSvid, type SvidStore } from './svid-store.js';
import { createWorkloadCalls } from './workload-calls.js';
import { createWorkloadHandlers } from './workload-handler.js';
import { createResponseCache } from './x509-response.js';
import type { X509SvidIssuer } from './x509-svid-issuer.js';

/** Options of {@link createWorkloadApiServer}. */
export interface WorkloadApiServerOptions {
  readonly socketPath: string;
  readonly naming: NamingConfig;
  readonly attestor: WorkloadAttestor;
  /** Where the SVID store gets X.509-SVIDs: the embedded issuer's signer, or a remote issuer. */
  readonly issuer: X509SvidIssuer;
  readonly anchors: Receiver<TrustAnchors>;
  readonly refresh: RefreshPolicy;
  /** How long an identity with no stream left keeps its SVID for reuse (`--svid-idle-ttl`), ms. */
  readonly svidIdleTtlMs: number;
  /** Reads each caller's kernel credentials at accept and follows it for the PID-reuse check. */
  readonly peers: PeerTracker;
  /** Which budget each connection counts against (its uid, or its pod). */
  readonly callerGroups: CallerGroups;
  /** The caps on connections and streams. */
  readonly limits: ConnectionLimits;
  /** Metric hooks of the limits. */
  readonly onLimits?: ConnectionLimitsObserver;
  readonly clock: Clock;
  /** Uniform in [0, 1): jitter of the SVID store; default `Math.random`. */
  readonly random?: () => number;
  readonly logger: Logger;
  /** How long `stop()` waits for streams and connections before forcing them closed, ms. */
  readonly shutdownTimeoutMs: number;
  /** JWT keys and minting: the agent's key or the central issuer; `undefined` makes the JWT methods answer UNIMPLEMENTED. */
  readonly jwt: JwtSource | undefined;
  /** Metrics hooks. */
  readonly onIssued?: (svid: IssuedSvid, rotation: boolean) => void;
  readonly onCallResult?: (method: string, code: string) => void;
  readonly onStreamsChanged?: (open: number) => void;
  /** A connection to the socket was admitted, or an admitted one closed (`idle-collect.ts`). */
  readonly onConnection?: () => void;
}

/** A Workload API server on its socket. */
export interface WorkloadApiServer {
  /** Binds the socket and starts serving. */
  start(): Promise<void>;
  /** Ends every stream, closes connections, removes the socket; bounded by the shutdown timeout. */
  stop(): Promise<void>;
  /** True while serving. */
  readonly ready: Receiver<boolean>;
  readonly store: SvidStore;
  /** Open Workload API streams. */
  openStreams(): number;
  /** Open Workload API connections. */
  openConnections(): number;
}

export function createWorkloadApiServer(options: WorkloadApiServerOptions): WorkloadApiServer {
  const log = options.logger.child({ subsystem: 'agent' });
  const services = agentServices();
  const connections = createConnectionRegistry();
  const streams = createStreamRegistry(options.onStreamsChanged);
  const readiness = createValueChannel(false);
  const store = createSvidStore({
    issuer: options.issuer,
    refresh: options.refresh,
    idleTtlMs: options.svidIdleTtlMs,
    clock: options.clock,
    ...(options.random ? { random: options.random } : {}),
    logger: options.logger,
    onIssued: options.onIssued,
  });
  const limits = enforceConnectionLimits(options.limits, {
    groups: options.callerGroups,
    clock: options.clock,
    logger: options.logger,
    ...(options.onLimits ? { observer: options.onLimits } : {}),
  });
  const resolver = createCallerResolver({
    connections,
    attestor: options.attestor,
    naming: options.naming,
    gate: limits.gate,
  });
  // The attestor's work for a new connection starts at accept, in the caller's turn (a group
  // whose attestations all run already gets none), while the client is still sending its call.
  const prepare = options.attestor.prepare?.bind(options.attestor);
  const calls = createWorkloadCalls(options.logger, options.onCallResult);
  const jwtSvids = createJwtSvidCache({ clock: options.clock });
  const server = new Server({
    // Nothing serves channelz, and its per-call bookkeeping costs every call (docs/performance.md).
    'grpc.enable_channelz': 0,
    ...limits.serverOptions,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
    interceptors: [limits.guard.interceptor],
  });
  const workloadHandlers = createWorkloadHandlers({
    resolver,
    store,
    anchors: options.anchors,
    responses: createResponseCache(services.encodeWorkloadResponse, options.naming.trustDomain),
    streams,
    logger: options.logger,
    calls,
    defer: (turn) => setImmediate(turn),
    jwt: createJwtHandlers({
      jwt: options.jwt,
      trustDomain: options.naming.trustDomain,
      clock: options.clock,
      logger: options.logger,
      cache: jwtSvids,
      resolver,
      streams,
      encode: services.encodeWorkloadResponse,
      calls,
    }),
  });
  // The same handlers, header rule included, under both names; the unqualified one is primary.
  server.addService(services.workload, workloadHandlers);
  server.addService(services.qualifiedWorkload, workloadHandlers);
  server.addService(services.health, createHealthHandlers(readiness.receiver, streams));
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  let socket: SocketServer | undefined;
  let stopping: Promise<void> | undefined;
  let replacedLogged = false;
  /** Serving, and the socket file at the path is still the one bound (issue 15: an impostor may have replaced it). */
  const ready: Receiver<boolean> = {
    get() {
      if (!readiness.receiver.get()) return false;
      if (socket?.isOurs()) return true;
      if (!replacedLogged)
        log.error({ path: options.socketPath }, 'the socket file was removed or replaced by another; clients cannot reach this agent');
      replacedLogged = true;
      return false;
    },
    subscribe: (listener) => readiness.receiver.subscribe(listener),
  };

  return {
    ready,
    store,
    openStreams: () => streams.size(),
    openConnections: () => socket?.size() ?? 0,
    async start() {
      socket = await listenOnSocket({
        path: options.socketPath,
        injector,
        connections,
        peers: options.peers,
        admission: limits.admission,
        guard: limits.guard,
        // The start time read at accept (the peer tracker's) stands for the caller: read once per connection.
        ...(prepare
          ? {
              onAdmitted: (peer: TrackedPeer, group: string) =>
                void limits.gate.tryRun(group, () => peer.caller().then(prepare, () => undefined)),
            }
          : {}),
        ...(options.onLimits?.onConnectionRefused ? { onRefused: options.onLimits.onConnectionRefused } : {}),
        ...(options.onConnection ? { onConnection: options.onConnection } : {}),
        logger: options.logger,
        clock: options.clock,
      });
      readiness.sink.set(true);
    },
    stop() {
      stopping ??= (async () => {
        readiness.sink.set(false);
        store.close();
        jwtSvids.close();
        const graceful = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        streams.endAll();
        const closing = socket?.close(options.shutdownTimeoutMs) ?? Promise.resolve();
        const timer = setTimeout(() => server.forceShutdown(), options.shutdownTimeoutMs);
        await graceful;
        clearTimeout(timer);
        injector.destroy();
        await closing;
        log.info({ path: options.socketPath }, 'workload api stopped');
      })();
      return stopping;
    },
  };
}
