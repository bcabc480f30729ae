/**
 * Whether to serve a new connection (issue 15), decided right after the kernel's peer
 * credentials are read and before anything of the caller is read from `/proc`: the total cap
 * first (no read at all), then the cap of the caller's group (its uid, or its pod: see
 * `attestor/caller-groups.ts`). Placing a process in its pod takes one read of its cgroup; at
 * most {@link MAX_PENDING_PLACEMENTS} such reads wait at a time, and a connection beyond that is
 * refused at once.
 */
import type { CallerGroups, PeerCredentials } from '../attestor/index.js';
import type { Budget } from './budget.js';

/** Most connections waiting for their caller to be placed in a pod. */
export const MAX_PENDING_PLACEMENTS = 64;

/** Why a connection was refused (the `reason` label of the metric). */
export type ConnectionRefusal = 'total_limit' | 'caller_limit' | 'placement_busy' | 'unplaced';

/** The outcome for one connection. */
export type AdmissionDecision =
  | {
      readonly admitted: true;
      /** The caller group the connection counts against. */
      readonly group: string;
      /** The connection closed: gives its place back. Idempotent. */
      release(): void;
    }
  | { readonly admitted: false; readonly reason: ConnectionRefusal; readonly group?: string };

/** Decides on a new connection from its peer credentials alone, or after placing the caller. */
export interface ConnectionAdmission {
  admit(peer: PeerCredentials): AdmissionDecision | Promise<AdmissionDecision>;
}

/** Admits every connection, each in its uid's group (tests). */
export const ADMIT_ALL: ConnectionAdmission = {
  admit: (peer) => ({ admitted: true, group: `uid:${peer.uid}`, release: () => undefined }),
};

export interface ConnectionAdmissionOptions {
  readonly groups: CallerGroups;
  /** Open connections, in total and per group. */
  readonly connections: Budget;
}

export function createConnectionAdmission(options: ConnectionAdmissionOptions): ConnectionAdmission {
  const { groups, connections } = options;
  let pending = 0;

  function decide(group: string): AdmissionDecision {
    const refusal = connections.take(group);
    if (refusal) return { admitted: false, reason: refusal, group };
    let released = false;
    return {
      admitted: true,
      group,
      release() {
        if (released) return;
        released = true;
        connections.give(group);
      },
    };
  }

  return {
    admit(peer) {
      if (connections.full()) return { admitted: false, reason: 'total_limit' };
      const group = groups.known(peer);
      if (group !== undefined) return decide(group);
      if (pending >= MAX_PENDING_PLACEMENTS) return { admitted: false, reason: 'placement_busy' };
      pending++;
      return groups
        .place(peer)
        .then(decide, (): AdmissionDecision => ({ admitted: false, reason: 'unplaced' }))
        .finally(() => {
          pending--;
        });
    },
  };
}
