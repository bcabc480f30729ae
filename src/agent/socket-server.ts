/**
 * The Workload API socket (SPEC §8): create its directory, replace a stale socket file (only
 * when nothing answers on it), listen, chmod 0777 (access control is attestation, not file
 * mode), accept connections ourselves — read the peer's kernel credentials, decide admission on
 * them, start tracking the peer — hand them to grpc-js, and remove the socket on close.
 */
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';
import type { ConnectionInjector } from '@grpc/grpc-js';
import type { PeerCredentials, PeerTracker } from '../attestor/index.js';
import { AgentError, describeError } from '../errors.js';
import { F, type Logger } from '../log.js';
import type { ConnectionRegistry } from './connections.js';

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
}

export interface SocketServer {
  /**
   * Stops accepting (the socket file goes at once), waits for open connections to end and
   * destroys those still open after `graceMs`; resolves when all are gone.
   */
  close(graceMs: number): Promise<void>;
}

/** Resolves true when something accepts connections on `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(path);
    const done = (live: boolean) => {
      probe.destroy();
      resolve(live);
    };
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
    probe.setTimeout(1000, () => done(true));
  });
}

/** Removes a stale socket file, refusing to touch a live socket or anything that is not a socket. */
async function clearStaleSocket(path: string, logger: Logger): Promise<void> {
  const stat = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!stat) return;
  if (!stat.isSocket()) throw new AgentError('CONFIG_INVALID', `socket path ${path} exists and is not a socket; refusing to replace it`);
  if (await answers(path))
    throw new AgentError('CONFIG_INVALID', `another process is serving on ${path}; refusing to take over its socket`);
  await unlink(path);
  logger.info({ path }, 'removed stale socket file');
}

/**
 * Starts listening on the socket path.
 * @throws AgentError `CONFIG_INVALID` when the path is held by a live server or is not a socket
 */
export async function listenOnSocket(options: SocketServerOptions): Promise<SocketServer> {
  const { path, injector, connections, logger } = options;
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await clearStaleSocket(path, logger);
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
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ error: describeError(err) }, 'socket server error'));
  await chmod(path, 0o777);
  logger.info({ path }, 'listening on workload api socket');

  let closed: Promise<void> | undefined;
  return {
    close(graceMs) {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, graceMs).unref();
      }).then(() => unlink(path).catch(() => undefined));
      return closed;
    },
  };
}
