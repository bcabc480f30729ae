/**
 * Which sockets' peers have hung up, asked of the kernel with one `poll(2)` for all of them
 * (through koffi). Needed because Node's HTTP/2 stops reading a connection once it has sent a
 * GOAWAY for a protocol error and then emits nothing, not even when the peer closes: without a
 * look of our own the descriptor stays open until keepalive gives up, ~80 s later (issue 15).
 * RFC 9113 §5.4.1: after a GOAWAY for a connection error the endpoint MUST close the connection.
 */
import koffi from 'koffi';

const POLLERR = 0x008;
const POLLHUP = 0x010;
const POLLNVAL = 0x020;
const POLLRDHUP = 0x2000;
/** `struct pollfd`: int fd; short events; short revents. */
const POLLFD_SIZE = 8;

type Poll = (fds: Buffer, nfds: number, timeout: number) => number;
let poll: Poll | undefined;

function bind(): Poll {
  poll ??= koffi.load('libc.so.6').func('int poll(_Inout_ void *fds, unsigned long nfds, int timeout)') as Poll;
  return poll;
}

/**
 * The positions in `fds` whose peer has closed its end (or whose socket is in error), without
 * waiting. A negative fd is skipped.
 */
export function hungUp(fds: readonly number[]): number[] {
  if (fds.length === 0) return [];
  const table = Buffer.alloc(fds.length * POLLFD_SIZE);
  fds.forEach((fd, i) => {
    table.writeInt32LE(fd, i * POLLFD_SIZE);
    table.writeInt16LE(POLLRDHUP, i * POLLFD_SIZE + 4);
  });
  if (bind()(table, fds.length, 0) <= 0) return [];
  const gone: number[] = [];
  fds.forEach((_fd, i) => {
    if (table.readInt16LE(i * POLLFD_SIZE + 6) & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) gone.push(i);
  });
  return gone;
}
