/**
 * Which process is on the other end of each connection. The socket server records the caller
 * when it accepts a connection; handlers find it again through `call.getPeer()`, which grpc-js
 * builds from the socket's `remoteAddress` — shadowed here with `uds:<n>` (node-stack.md §1a).
 */
import type { Socket } from 'node:net';
import type { Caller, PeerCredentials } from '../attestor/index.js';

const PREFIX = 'uds:';

export interface ConnectionRegistry {
  /** Records an accepted socket and tags it so that its calls can be traced back to it. */
  add(socket: Socket, peer: PeerCredentials, startTime: Promise<string | undefined>): string;
  /** The caller of a call, by `call.getPeer()`; `undefined` when unknown (never a guess). */
  lookup(peer: string): Promise<Caller> | undefined;
  /** Number of open connections. */
  size(): number;
}

export function createConnectionRegistry(): ConnectionRegistry {
  const callers = new Map<string, Promise<Caller>>();
  let next = 0;
  return {
    add(socket, peer, startTime) {
      const connectionId = `${PREFIX}${++next}`;
      Object.defineProperty(socket, 'remoteAddress', { value: connectionId, configurable: true });
      callers.set(
        connectionId,
        startTime.then((time) => ({ peer, startTime: time, connectionId })),
      );
      socket.once('close', () => callers.delete(connectionId));
      return connectionId;
    },
    lookup(peerAddress) {
      // grpc-js appends ":<port>" when a port exists; ours never has one, but be strict.
      return peerAddress.startsWith(PREFIX) ? callers.get(peerAddress) : undefined;
    },
    size: () => callers.size,
  };
}
