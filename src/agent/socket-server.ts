/**
 * The Workload API socket (docs/cli.md): create its directory and check that only the agent's user
 * can write to it (`socket-file.ts`), replace a stale socket file (only when nothing answers on
 * it), listen, chmod 0777 (access control is attestation, not file mode), accept connections
 * ourselves — read the peer's kernel credentials, decide admission (`connection-admission.ts`),
 * start tracking the peer, hand the connection to the guard (`connection-guard.ts`) and to
 * grpc-js — and on close remove the socket file if it is still the one bound.
 */
import { chmod, rename } from 'node:fs/promises';
import net from 'node:net';
import type { ConnectionInjector } from '@grpc/grpc-js';
import type { PeerCredentials, PeerTracker, TrackedPeer } from '../attestor/index.js';
import { type Clock, systemClock } from '../clock.js';
import { describeError } from '../errors.js';
import { LOG_FIELD, type Logger } from '../log.js';
import { BURST_LOG_WINDOW_MS, createBurstLog } from './burst-log.js';
import { ADMIT_ALL, type AdmissionDecision, type ConnectionAdmission, type ConnectionRefusal } from './connection-admission.js';
import type { ConnectionGuard } from './connection-guard.js';
import { LISTEN_BACKLOG } from './connection-limits.js';
import type { ConnectionRegistry } from './connections.js';
import {
  bindingPath,
  boundSocketFile,
  checkSocketPathFree,
  clearBindingPath,
  currentOwner,
  prepareSocketDirectory,
  type SocketOwner,
} from './socket-file.js';

export interface SocketServerOptions {
  readonly path: string;
  readonly injector: ConnectionInjector;
  readonly connections: ConnectionRegistry;
  /** Reads each peer at accept and follows it for the PID-reuse check. */
  readonly peers: PeerTracker;
  /** Default {@link ADMIT_ALL}. */
  readonly admission?: ConnectionAdmission;
  /** Follows each admitted connection (calls, idle, hang-up); none when absent. */
  readonly guard?: ConnectionGuard;
  /**
   * Told of each admitted connection's tracked peer and caller group right after it is handed to
   * gRPC, to start work its first call will wait for (`WorkloadAttestor.prepare`); none when absent.
   */
  readonly onAdmitted?: (peer: TrackedPeer, group: string) => void;
  /** A connection was refused (metrics). */
  readonly onRefused?: (reason: ConnectionRefusal) => void;
  /** A connection was admitted, or an admitted one closed, for whatever reason. */
  readonly onConnection?: () => void;
  readonly logger: Logger;
  /** Default the wall clock; times the log bursts. */
  readonly clock?: Clock;
  /** Who must own the socket's directory; default the agent's effective uid and gid. */
  readonly owner?: SocketOwner;
}

export interface SocketServer {
  /** True while the socket file at the path is the one bound (not removed or replaced by someone else). */
  isOurs(): boolean;
  /** Open connections. */
  size(): number;
  /**
   * Stops accepting (the socket file goes at once, if still ours), waits for open connections to
   * end and destroys those still open after `graceMs`; resolves when all are gone.
   */
  close(graceMs: number): Promise<void>;
}

/** The file descriptor behind an accepted socket (a Node internal, stable on Unix), or -1. */
function fdOf(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

/**
 * Starts listening on the socket path.
 * @throws AgentError `CONFIG_INVALID` when the directory is unsafe (`socket-file.ts`), or the
 *   path is held by a live server or is not a socket
 */
export async function listenOnSocket(options: SocketServerOptions): Promise<SocketServer> {
  const { path, injector, connections, logger, guard } = options;
  const clock = options.clock ?? systemClock;
  await prepareSocketDirectory(path, options.owner ?? currentOwner());
  const stale = await checkSocketPathFree(path);
  await clearBindingPath(path);
  const sockets = new Set<net.Socket>();
  const admission = options.admission ?? ADMIT_ALL;
  const burst = { windowMs: BURST_LOG_WINDOW_MS, clock };
  const logRefused = createBurstLog((fields) => logger.warn(fields, 'connection refused'), burst);
  const logAcceptFailed = createBurstLog((fields) => logger.error(fields, 'cannot accept connections'), burst);

  function serve(socket: net.Socket, peer: PeerCredentials, decision: AdmissionDecision): void {
    if (!decision.admitted) {
      options.onRefused?.(decision.reason);
      logRefused({ [LOG_FIELD.pid]: peer.pid, [LOG_FIELD.uid]: peer.uid, [LOG_FIELD.reason]: decision.reason, group: decision.group });
      socket.destroy();
      return;
    }
    if (socket.destroyed) {
      decision.release();
      return;
    }
    sockets.add(socket);
    const { id, peer: tracked } = connections.add(socket, (connectionId) => options.peers.track(peer, connectionId), decision.group);
    socket.once('close', () => {
      sockets.delete(socket);
      guard?.remove(id);
      decision.release();
      options.onConnection?.();
    });
    guard?.add({ id, group: decision.group, fd: fdOf(socket), destroy: () => socket.destroy() });
    options.onConnection?.();
    const inject = (): void => {
      if (!socket.destroyed) injector.injectConnection(socket);
    };
    if (!options.onAdmitted) {
      inject();
      return;
    }
    // The attestor starts its reads first and grpc-js sets up the HTTP/2 session in the next
    // turn of the loop, so the first read of the caller's files runs in the thread pool meanwhile
    // instead of waiting for the setup (docs/performance.md, "First SVID in Kubernetes mode").
    // Data the client sends meanwhile waits in the socket.
    setImmediate(inject);
    options.onAdmitted(tracked, decision.group);
  }

  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    let peer: PeerCredentials;
    try {
      peer = options.peers.peerOf(socket);
    } catch (err) {
      logger.warn({ [LOG_FIELD.error]: describeError(err) }, 'connection failed during accept');
      socket.destroy();
      return;
    }
    const decision = admission.admit(peer);
    if (!(decision instanceof Promise)) return serve(socket, peer, decision);
    decision.then(
      (d) => serve(socket, peer, d),
      () => socket.destroy(),
    );
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: bindingPath(path), backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // EMFILE and the like: the listener keeps listening; a burst is logged once.
  server.on('error', (err) => logAcceptFailed({ [LOG_FIELD.error]: describeError(err) }));
  // Mode 0777 before it appears at the path: access control is attestation, not file mode.
  await chmod(bindingPath(path), 0o777);
  await rename(bindingPath(path), path);
  if (stale) logger.info({ path }, 'replaced stale socket file');
  const file = await boundSocketFile(path);
  logger.info({ path }, 'listening on workload api socket');

  let closed: Promise<void> | undefined;
  return {
    isOurs: file.isOurs,
    size: () => sockets.size,
    close(graceMs) {
      closed ??= (async () => {
        // The file goes first, so new clients fail at once instead of queueing on a closing listener.
        if (!(await file.removeIfOurs())) logger.warn({ path }, 'the socket file is no longer the one the agent bound; left in place');
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          setTimeout(() => {
            for (const socket of sockets) socket.destroy();
          }, graceMs).unref();
        });
        guard?.close();
      })();
      return closed;
    },
  };
}
