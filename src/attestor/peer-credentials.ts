/**
 * Reads `SO_PEERCRED` (pid, uid, gid of the connecting process) from an accepted Unix socket,
 * through libc's `getsockopt` called with koffi (prebuilt; no compiler needed).
 * The kernel translates the pid into our PID namespace, so a DaemonSet with `hostPID` sees host pids.
 */
import type { Socket } from 'node:net';
import koffi from 'koffi';
import { AgentError } from '../errors.js';
import type { PeerCredentials } from './types.js';

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const UCRED_SIZE = 12;

type GetSockOpt = (fd: number, level: number, name: number, out: Record<string, number>, len: number[]) => number;

let getsockopt: GetSockOpt | undefined;

function bind(): GetSockOpt {
  if (getsockopt) return getsockopt;
  const libc = koffi.load('libc.so.6');
  koffi.struct('svid_ucred', { pid: 'int32', uid: 'uint32', gid: 'uint32' });
  getsockopt = libc.func(
    'int getsockopt(int sockfd, int level, int optname, _Out_ svid_ucred *optval, _Inout_ uint32 *optlen)',
  ) as GetSockOpt;
  return getsockopt;
}

/** The file descriptor behind an accepted `net.Socket` (a Node internal, stable on Unix). */
function socketFd(socket: Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}

/**
 * Reads the peer credentials of an accepted Unix-domain socket.
 * @throws AgentError `ATTESTATION_UNAVAILABLE` when the socket has no fd or the call fails
 */
export function readPeerCredentials(socket: Socket): PeerCredentials {
  const fd = socketFd(socket);
  if (fd === undefined) throw new AgentError('ATTESTATION_UNAVAILABLE', 'connection has no file descriptor');
  const out: Record<string, number> = {};
  const rc = bind()(fd, SOL_SOCKET, SO_PEERCRED, out, [UCRED_SIZE]);
  if (rc !== 0) {
    throw new AgentError('ATTESTATION_UNAVAILABLE', `getsockopt(SO_PEERCRED) failed with errno ${koffi.errno()}`);
  }
  const { pid, uid, gid } = out as { pid: number; uid: number; gid: number };
  if (!(pid > 0)) throw new AgentError('ATTESTATION_UNAVAILABLE', 'peer credentials carry no pid');
  return { pid, uid, gid };
}
