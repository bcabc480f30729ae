/**
 * The Workload API endpoint assembled: gRPC server, socket, handlers, store. `cli/run.ts`
 * builds the dependencies (credentials, attestor, certifier) and passes them in.
 */
import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { WorkloadAttestor } from '../attestor/index.js';
import type { Clock } from '../clock.js';
import type { NamingConfig } from '../identity.js';
import type { Certifier, RefreshPolicy, TrustAnchors } from '../issuer/index.js';
import type { Logger } from '../log.js';
import { createWatch, type Receiver } from '../watch.js';
import type { AttestedGrants } from './attested-grants.js';
import { type CallOutcomes, createCallOutcomes } from './call-outcome.js';
import { type CallerResolver, createCallerResolver } from './caller-resolver.js';
import { createConnectionRegistry } from './connections.js';
import { createHealthHandlers } from './health-handler.js';
import { loadServices } from './protos.js';
import { listenOnSocket, type SocketServer } from './socket-server.js';
import { createStreamRegistry, type StreamRegistry } from './stream-registry.js';
import { createSvidStore, type IssuedSvid, type SvidStore } from './svid-store.js';
import { createWorkloadHandlers } from './workload-handler.js';
import { createResponseCache } from './x509-response.js';

export interface WorkloadAgentOptions {
  readonly socketPath: string;
  readonly naming: NamingConfig;
  readonly attestor: WorkloadAttestor;
  readonly certifier: Certifier;
  readonly grants: AttestedGrants;
  readonly anchors: Receiver<TrustAnchors>;
  readonly refresh: RefreshPolicy;
  readonly readStartTime: (pid: number) => Promise<string | undefined>;
  readonly clock: Clock;
  readonly logger: Logger;
  /** How long `stop()` waits for streams and connections before forcing them closed, ms. */
  readonly shutdownTimeoutMs: number;
  /**
   * Extra Workload API handlers (JWT methods) that replace the UNIMPLEMENTED defaults; either
   * the handlers, or a factory given what handlers need from inside the agent (the caller
   * resolver, the stream registry, the response encoder).
   */
  readonly extraHandlers?: UntypedServiceImplementation | ((context: ExtraHandlerContext) => UntypedServiceImplementation);
  /** Metrics hooks. */
  readonly onIssued?: (svid: IssuedSvid, rotation: boolean) => void;
  readonly onCallResult?: (method: string, code: string) => void;
  readonly onStreamsChanged?: (open: number) => void;
}

/** What an `extraHandlers` factory receives. */
export interface ExtraHandlerContext {
  readonly resolver: CallerResolver;
  readonly streams: StreamRegistry;
  /** Encodes a response of a workload method once, for sharing between streams. */
  readonly encode: (method: string, message: unknown) => Buffer;
  /** How calls end (status, log line, metrics); use its `unary`/`stream` wrappers. */
  readonly outcomes: CallOutcomes;
}

export interface WorkloadAgent {
  /** Binds the socket and starts serving. */
  start(): Promise<void>;
  /** Ends every stream, closes connections, removes the socket; bounded by the shutdown timeout. */
  stop(): Promise<void>;
  /** True while serving. */
  readonly ready: Receiver<boolean>;
  readonly store: SvidStore;
  /** Open Workload API streams. */
  openStreams(): number;
}

export function createWorkloadAgent(options: WorkloadAgentOptions): WorkloadAgent {
  const log = options.logger.child({ subsystem: 'agent' });
  const services = loadServices();
  const connections = createConnectionRegistry();
  const streams = createStreamRegistry(options.onStreamsChanged);
  const readiness = createWatch(false);
  const store = createSvidStore({
    certifier: options.certifier,
    grants: options.grants,
    refresh: options.refresh,
    clock: options.clock,
    logger: options.logger,
    onIssued: options.onIssued,
  });
  const resolver = createCallerResolver({
    connections,
    attestor: options.attestor,
    readStartTime: options.readStartTime,
    naming: options.naming,
  });
  const outcomes = createCallOutcomes(options.logger, options.onCallResult);
  const server = new Server({ 'grpc.max_concurrent_streams': 1000, 'grpc.keepalive_time_ms': 60_000, 'grpc.keepalive_timeout_ms': 20_000 });
  server.addService(
    services.workload,
    createWorkloadHandlers({
      resolver,
      store,
      anchors: options.anchors,
      responses: createResponseCache(services.encodeWorkloadResponse, options.naming.trustDomain),
      streams,
      logger: options.logger,
      outcomes,
      extra:
        typeof options.extraHandlers === 'function'
          ? options.extraHandlers({ resolver, streams, encode: services.encodeWorkloadResponse, outcomes })
          : options.extraHandlers,
    }),
  );
  server.addService(services.health, createHealthHandlers(readiness.receiver, streams));
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  let socket: SocketServer | undefined;
  let stopping: Promise<void> | undefined;

  return {
    ready: readiness.receiver,
    store,
    openStreams: () => streams.size(),
    async start() {
      socket = await listenOnSocket({
        path: options.socketPath,
        injector,
        connections,
        readStartTime: options.readStartTime,
        logger: options.logger,
      });
      readiness.sink.set(true);
    },
    stop() {
      stopping ??= (async () => {
        readiness.sink.set(false);
        store.close();
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
