/**
 * The one place that leans on how grpc-js names a call's peer. grpc-js builds `call.getPeer()`
 * from the socket's `remoteAddress` (and `remotePort`, when there is one), and a Unix-domain socket
 * has neither; so each accepted socket gets a unique `uds:<n>` as its `remoteAddress`, and a call
 * is traced back to its connection by that name (node-stack.md §1a). `grpc-peer-address.test.ts`
 * checks the grpc-js behaviour this relies on.
 */
import type { Socket } from 'node:net';

const PREFIX = 'uds:';

/** Names connections so that their calls can be traced back to them. */
export interface PeerAddresses {
  /** Gives `socket` a fresh unique name, which its calls report as their peer. */
  name(socket: Socket): string;
  /** The connection name behind a call's `getPeer()`, or `undefined` when it is not one of ours. */
  connectionOf(callPeer: string): string | undefined;
}

export function createPeerAddresses(): PeerAddresses {
  let next = 0;
  return {
    name(socket) {
      const name = `${PREFIX}${++next}`;
      Object.defineProperty(socket, 'remoteAddress', { value: name, configurable: true });
      return name;
    },
    // grpc-js appends ":<port>" when a port exists; ours never has one, so anything else is not ours.
    connectionOf: (callPeer) => (/^uds:\d+$/.test(callPeer) ? callPeer : undefined),
  };
}
