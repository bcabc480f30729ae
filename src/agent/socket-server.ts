/**
 * The Workload API socket (SPEC §8): create its directory and check that only the agent's user
 * can write to it (`socket-file.ts`), replace a stale socket file (only when nothing answers on
 * it), listen, chmod 0777 (access control is attestation, not file mode), accept connections
 * ourselves — read the peer's kernel credentials, decide admission on them, start tracking the
 * peer — hand them to grpc-js, and on close remove the socket file if it is still the one bound.
 */
import { chmod, rename } from 'node:fs/promises';
import net from 'node:net';
import type { ConnectionInjector } from '@grpc/grpc-js';
import type { PeerCredentials, PeerTracker } from '../attestor/index.js';
import { describeError } from '../errors.js';
import { F, type Logger } from '../log.js';
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

/**
 * Whether to serve a new connection, decided on the kernel's word alone (`SO_PEERCRED`), before
 * anything is read from `/proc`: a flood of connections costs no file reads. Limits per uid or
 * per pod belong here.
 */
export interface ConnectionAdmission {
  /** @returns `undefined` to admit the connection, else why not (logged; the connection is closed) */
  admit(peer: PeerCredentials): string | undefined;
  /** An admitted connection of `peer` has closed. */
  closed(peer: PeerCredentials): void;
}

/** Admits every connection. */
export const ADMIT_ALL: ConnectionAdmission = { admit: () => undefined, closed: () => undefined };

export interface SocketServerOptions {
  readonly path: string;
  readonly injector: ConnectionInjector;
  readonly connections: ConnectionRegistry;
  /** Reads each peer at accept and follows it for the PID-reuse check. */
  readonly peers: PeerTracker;
  /** Default {@link ADMIT_ALL}. */
  readonly admission?: ConnectionAdmission;
  readonly logger: Logger;
  /** Who must own the socket's directory; default the agent's effective uid and gid. */
  readonly owner?: SocketOwner;
}

export interface SocketServer {
  /** True while the socket file at the path is the one bound (not removed or replaced by someone else). */
  isOurs(): boolean;
  /**
   * Stops accepting (the socket file goes at once, if still ours), waits for open connections to end and
   * destroys those still open after `graceMs`; resolves when all are gone.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * Starts listening on the socket path.
 * @throws AgentError `CONFIG_INVALID` when the directory is unsafe (`socket-file.ts`), or the
 *   path is held by a live server or is not a socket
 */
export async function listenOnSocket(options: SocketServerOptions): Promise<SocketServer> {
  const { path, injector, connections, logger } = options;
  await prepareSocketDirectory(path, options.owner ?? currentOwner());
  const stale = await checkSocketPathFree(path);
  await clearBindingPath(path);
  const sockets = new Set<net.Socket>();

  const admission = options.admission ?? ADMIT_ALL;
  const server = net.createServer((socket) => {
    let peer: PeerCredentials;
    try {
      peer = options.peers.peerOf(socket);
    } catch (err) {
      logger.warn({ [F.error]: describeError(err) }, 'connection failed during accept');
      socket.destroy();
      return;
    }
    const refusal = admission.admit(peer);
    if (refusal !== undefined) {
      logger.warn({ [F.pid]: peer.pid, [F.uid]: peer.uid, [F.reason]: refusal }, 'connection refused');
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      admission.closed(peer);
    });
    socket.on('error', () => undefined);
    connections.add(socket, (connectionId) => options.peers.track(peer, connectionId));
    injector.injectConnection(socket);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(bindingPath(path), () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ error: describeError(err) }, 'socket server error'));
  // Mode 0777 before it appears at the path: access control is attestation, not file mode.
  await chmod(bindingPath(path), 0o777);
  await rename(bindingPath(path), path);
  if (stale) logger.info({ path }, 'replaced stale socket file');
  const file = await boundSocketFile(path);
  logger.info({ path }, 'listening on workload api socket');

  let closed: Promise<void> | undefined;
  return {
    isOurs: file.isOurs,
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
      })();
      return closed;
    },
  };
}
