/**
 * Which budget a connection counts against (issue 15): the connection and stream caps apply per
 * *caller group*, so that one caller cannot use up what the others need.
 *
 * - `uid` (the unix attestor): the peer's uid, from `SO_PEERCRED` alone; nothing is read.
 * - `pod` (the Kubernetes attestor): the peer's pod. Every Linkerd proxy runs as uid 2102, so a
 *   per-uid budget there would be one budget shared by every meshed pod on the node. No socket
 *   option names a peer's cgroup on the kernels nodes run (`PIDFD_GET_INFO` needs Linux 6.13), so
 *   the pod is read from `/proc/<pid>/cgroup`, once per process: the answer is kept for
 *   {@link PLACEMENT_TTL_MS} by pid and uid, so a flood of connections from one process costs one
 *   read. A process in no pod (a host process) is grouped by its uid. The read is the one the
 *   attestor makes for that caller's first call anyway, and the socket server makes it only after
 *   the connection passed the total cap, with few in flight (docs/decisions.md, "Connection limits").
 */
import { createBoundedCache } from '../bounded-cache.js';
import type { Clock } from '../clock.js';
import { isAgentError } from '../errors.js';
import { parseCgroupFile } from './cgroup.js';
import type { ProcReader } from './proc.js';
import type { PeerCredentials } from './types.js';

/** How callers are grouped: by uid, or by pod (falling back to the uid outside pods). */
export type CallerGroupMode = 'uid' | 'pod';

/** How long a process's pod is remembered, ms. */
export const PLACEMENT_TTL_MS = 10_000;
/** Most processes remembered. */
const PLACEMENTS_KEPT = 4096;

export interface CallerGroups {
  /**
   * The peer's group (`uid:<uid>` or `pod:<pod uid>`) when it is known without reading anything
   * (always in `uid` mode; in `pod` mode when the process was placed lately), else `undefined`.
   */
  known(peer: PeerCredentials): string | undefined;
  /**
   * Places the peer by reading its cgroup (shared with a read already running for it).
   * @throws ProcessGoneError when the process is gone; `ATTESTATION_UNAVAILABLE` when its cgroup
   *   cannot be read
   */
  place(peer: PeerCredentials): Promise<string>;
}

/** Options of {@link createCallerGroups}. */
export interface CallerGroupsOptions {
  readonly mode: CallerGroupMode;
  /** Reads cgroups (`--proc-root` applies); used in `pod` mode only. */
  readonly proc: Pick<ProcReader, 'readCgroup'>;
  readonly clock: Clock;
}

const byUid = (peer: PeerCredentials) => `uid:${peer.uid}`;

export function createCallerGroups(options: CallerGroupsOptions): CallerGroups {
  if (options.mode === 'uid') return { known: byUid, place: async (peer) => byUid(peer) };
  const { proc } = options;
  const placed = createBoundedCache<string>({ maxEntries: PLACEMENTS_KEPT, clock: options.clock });
  const reading = new Map<string, Promise<string>>();
  const keyOf = (peer: PeerCredentials) => `${peer.pid}:${peer.uid}`;

  async function read(peer: PeerCredentials, key: string): Promise<string> {
    const text = await proc.readCgroup(peer.pid);
    let group = byUid(peer);
    try {
      const { podUid } = parseCgroupFile(text);
      if (podUid !== undefined) group = `pod:${podUid}`;
    } catch (err) {
      // Cgroups that cannot be placed: the attestor refuses such a caller; its budget is its uid's.
      if (!isAgentError(err, 'NO_IDENTITY')) throw err;
    }
    placed.set(key, group, PLACEMENT_TTL_MS);
    return group;
  }

  return {
    known: (peer) => placed.get(keyOf(peer)),
    place(peer) {
      const key = keyOf(peer);
      let pending = reading.get(key);
      if (!pending) {
        pending = read(peer, key).finally(() => reading.delete(key));
        reading.set(key, pending);
      }
      return pending;
    },
  };
}
