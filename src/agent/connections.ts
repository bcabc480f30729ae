/**
 * Open Workload API connections and the peer tracked for each, so that a call finds the process
 * on the other end of its connection. This is the one place that leans on how grpc-js names a
 * call's peer: `call.getPeer()` is built from the socket's `remoteAddress` (and `remotePort`, when
 * there is one), and a Unix-domain socket has neither; so each accepted socket gets a unique
 * `uds:<n>` as its `remoteAddress`, and a call is traced back to its connection by that name
 * (measured on grpc-js 1.14). `connections.test.ts` checks this grpc-js behaviour on a real server.
 */
import type { Socket } from 'node:net';
import type { TrackedPeer } from '../attestor/index.js';

export interface ConnectionRegistry {
  /**
   * Names an accepted socket (its calls report the name as their peer) and records the peer
   * `track` returns for that name, and the caller group the connection was admitted in (default:
   * the name itself), until the socket closes.
   * @returns the name and the tracked peer
   */
  add(socket: Socket, track: (connectionId: string) => TrackedPeer, group?: string): { readonly id: string; readonly peer: TrackedPeer };
  /** The peer of a call, by `call.getPeer()`; `undefined` when unknown (never a guess). */
  lookup(callPeer: string): TrackedPeer | undefined;
  /** The caller group of a call's connection, by `call.getPeer()`; `undefined` when unknown. */
  groupOf(callPeer: string): string | undefined;
  /** Number of open connections. */
  size(): number;
}

const PREFIX = 'uds:';

export function createConnectionRegistry(): ConnectionRegistry {
  const peers = new Map<string, { readonly peer: TrackedPeer; readonly group: string }>();
  let next = 0;
  return {
    add(socket, track, group) {
      const connectionId = `${PREFIX}${++next}`;
      Object.defineProperty(socket, 'remoteAddress', { value: connectionId, configurable: true });
      const peer = track(connectionId);
      peers.set(connectionId, { peer, group: group ?? connectionId });
      socket.once('close', () => peers.delete(connectionId));
      return { id: connectionId, peer };
    },
    // grpc-js appends ":<port>" when a port exists; ours never has one, so such a peer is not ours.
    lookup: (callPeer) => peers.get(callPeer)?.peer,
    groupOf: (callPeer) => peers.get(callPeer)?.group,
    size: () => peers.size,
  };
}
