/**
 * Open Workload API connections and the peer tracked for each, so that a call finds the process
 * on the other end of its connection (`call.getPeer()`, through `grpc-peer-address.ts`).
 */
import type { Socket } from 'node:net';
import type { TrackedPeer } from '../attestor/index.js';
import type { PeerAddresses } from './grpc-peer-address.js';

export interface ConnectionRegistry {
  /** Names an accepted socket (its calls report the name as their peer). */
  name(socket: Socket): string;
  /** Records the peer of a named socket until the socket closes. */
  add(socket: Socket, connectionId: string, peer: TrackedPeer): void;
  /** The peer of a call, by `call.getPeer()`; `undefined` when unknown (never a guess). */
  lookup(callPeer: string): TrackedPeer | undefined;
  /** Number of open connections. */
  size(): number;
}

export function createConnectionRegistry(addresses: PeerAddresses): ConnectionRegistry {
  const peers = new Map<string, TrackedPeer>();
  return {
    name: (socket) => addresses.name(socket),
    add(socket, connectionId, peer) {
      peers.set(connectionId, peer);
      socket.once('close', () => peers.delete(connectionId));
    },
    lookup(callPeer) {
      const connectionId = addresses.connectionOf(callPeer);
      return connectionId === undefined ? undefined : peers.get(connectionId);
    },
    size: () => peers.size,
  };
}
