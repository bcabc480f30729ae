/**
 * Who is on the other end of a Workload API connection, and whether it is still the same
 * process (modelled on SPIRE's `pkg/common/peertracker`). Two steps at accept:
 * 1. {@link PeerTracker.peerOf}, synchronous: the kernel's `SO_PEERCRED` (pid, uid, gid). No file
 *    is read, so the socket server can decide admission on it before any `/proc` read.
 * 2. {@link PeerTracker.track}, for an admitted connection: starts reading the process start time
 *    (`/proc/<pid>/stat` field 22) at once, while the process that connected is surely alive.
 * After attestation, {@link TrackedPeer.checkAlive} re-reads the start time: a process that exited
 * during attestation may have handed its PID to another one, which must get nothing.
 */
import type { Socket } from 'node:net';
import { AgentError } from '../errors.js';
import { readPeerCredentials } from './peer-credentials.js';
import type { ProcReader } from './proc.js';
import type { Caller, PeerCredentials } from './types.js';

/** A connection's peer, followed from accept until the connection closes. */
export interface TrackedPeer {
  readonly peer: PeerCredentials;
  /**
   * The caller as accepted: its credentials and the start time read when it connected.
   * @throws AgentError `ATTESTATION_UNAVAILABLE` when the start time could not be read
   */
  caller(): Promise<Caller>;
  /**
   * Checks that the process behind the pid is still the one that connected (SPIRE's `IsAlive`).
   * Call it after using the pid (attestation), before trusting the result.
   * @throws AgentError `NO_IDENTITY` when the start time changed or can no longer be read
   */
  checkAlive(): Promise<void>;
}

/** Reads and follows the peers of accepted Unix-domain sockets. */
export interface PeerTracker {
  /**
   * The kernel's credentials of the socket's peer; synchronous, reads no file.
   * @throws AgentError `ATTESTATION_UNAVAILABLE` when the socket has no fd or `getsockopt` fails
   */
  peerOf(socket: Socket): PeerCredentials;
  /** Starts following an admitted connection's peer; `connectionId` names the connection in logs. */
  track(peer: PeerCredentials, connectionId: string): TrackedPeer;
}

/** Options of {@link createPeerTracker}. */
export interface PeerTrackerOptions {
  /** Reads start times (`--proc-root` applies). */
  readonly proc: Pick<ProcReader, 'readStartTime'>;
  /** Reads `SO_PEERCRED`; default {@link readPeerCredentials} (tests replace it). */
  readonly readPeer?: (socket: Socket) => PeerCredentials;
}

export function createPeerTracker(options: PeerTrackerOptions): PeerTracker {
  const { proc } = options;
  const readPeer = options.readPeer ?? readPeerCredentials;
  const startTimeOf = (pid: number): Promise<string | undefined> => proc.readStartTime(pid).catch(() => undefined);
  return {
    peerOf: (socket) => readPeer(socket),
    track(peer, connectionId) {
      const startedAt = startTimeOf(peer.pid);
      return {
        peer,
        async caller() {
          const startTime = await startedAt;
          if (startTime === undefined) {
            throw new AgentError('ATTESTATION_UNAVAILABLE', `could not read the start time of caller pid ${peer.pid}`);
          }
          return { peer, startTime, connectionId };
        },
        async checkAlive() {
          const [then, now] = await Promise.all([startedAt, startTimeOf(peer.pid)]);
          if (then === undefined || now !== then) {
            throw new AgentError('NO_IDENTITY', `caller pid ${peer.pid} is no longer the process that connected`);
          }
        },
      };
    },
  };
}
