/**
 * Bounded reads of open files for the `/proc` readers (proc.ts): procfs files, read in line, and
 * files of a caller's root, which are hostile input. A file in a caller's root is read through
 * the thread pool, since its filesystem may block (a FUSE or NFS mount the workload controls),
 * except where the kernel says it lies on a filesystem that keeps its files in memory
 * ({@link onMemoryFilesystem}): a projected service-account token is on tmpfs, and reading it in
 * line saves the first SVID of every pod two thread-pool round trips (docs/decisions.md, "Reading
 * a token on tmpfs in line").
 */
import { close, closeSync, constants, fstat, fstatSync, openSync, read, readSync, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import { AgentError } from '../errors.js';

/**
 * First read size. `/proc` files report size 0, so `fs.readFile` reads them into a fresh 64 KiB
 * buffer each time: for every stream opened that was 128 KiB of garbage outside the JS heap,
 * which drove the agent's memory peak (docs/performance.md). A small first buffer comes from
 * Node's shared pool and grows only for the rare longer file.
 */
const FIRST_READ_BYTES = 1024;

/** Filesystems whose files live in memory: reading one waits for no other process and no device. */
const MEMORY_FILESYSTEMS: ReadonlySet<string> = new Set(['tmpfs', 'ramfs']);

/**
 * Most of a caller's `mountinfo` read to find a mount: a pod has a few dozen mounts (~5 KiB); a
 * caller with thousands has its token read through the thread pool instead.
 */
const MAX_MOUNTINFO_BYTES = 64 * 1024;

/** The agent's own open files, as procfs describes them (`mnt_id` since Linux 3.15). */
const SELF_FDINFO = '/proc/self/fdinfo';

const fstatFd = promisify(fstat);
const readFd = promisify(read);

/**
 * The `mnt_id` field of a `/proc/<pid>/fdinfo/<fd>` text: the mount the open file is on.
 * @returns `undefined` when there is none (a kernel before 3.15)
 */
export function mountIdFromFdinfo(fdinfo: string): number | undefined {
  const m = /^mnt_id:\s*(\d+)$/m.exec(fdinfo);
  return m ? Number(m[1]) : undefined;
}

/**
 * The filesystem type of mount `mountId` in a `/proc/<pid>/mountinfo` text (proc(5): the mount ID
 * first, the type after the ` - ` separator; spaces in paths are escaped as `\040`, so the
 * separator is the first ` - `).
 * @returns `undefined` when no line has that mount ID
 */
export function filesystemOfMount(mountinfo: string, mountId: number): string | undefined {
  const line = lineStartingWith(mountinfo, `${mountId} `);
  const separator = line?.indexOf(' - ') ?? -1;
  return separator < 0 ? undefined : line?.slice(separator + 3).split(' ')[0];
}

/** The first line of `text` that starts with `prefix`, found in place: this runs for every token read. */
function lineStartingWith(text: string, prefix: string): string | undefined {
  let start = 0;
  if (!text.startsWith(prefix)) {
    const at = text.indexOf(`\n${prefix}`);
    if (at < 0) return undefined;
    start = at + 1;
  }
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? undefined : end);
}

/**
 * Whether the open file `fd` lies on one of {@link MEMORY_FILESYSTEMS}, from procfs alone, which
 * answers from memory: the mount ID of the agent's own descriptor (`/proc/self/fdinfo`), and that
 * mount's type in the caller's `mountinfo` (the file was opened through the caller's root, so it
 * is on one of the caller's mounts). The descriptor holds its mount, so the ID cannot name another
 * mount meanwhile. Anything unreadable, missing or too long answers `false`: read through the pool.
 * Nothing here asks the file's own filesystem (`fstatfs` would ask a FUSE daemon).
 */
export function onMemoryFilesystem(fd: number, callerMountinfo: string): boolean {
  try {
    const mountId = mountIdFromFdinfo(readProcTextSync(`${SELF_FDINFO}/${fd}`, FIRST_READ_BYTES) ?? '');
    if (mountId === undefined) return false;
    const mountinfo = readProcTextSync(callerMountinfo, MAX_MOUNTINFO_BYTES);
    const type = mountinfo === undefined ? undefined : filesystemOfMount(mountinfo, mountId);
    return type !== undefined && MEMORY_FILESYSTEMS.has(type);
  } catch {
    return false;
  }
}

/**
 * Reads a procfs file in line (procfs answers from memory), with O_NONBLOCK so that a FIFO
 * planted in a `--proc-root` cannot hang the agent.
 * @returns `undefined` when it holds more than `maxBytes`
 * @throws the errno error when it cannot be opened or read
 */
export function readProcTextSync(path: string, maxBytes: number): string | undefined {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    return readUpToSync(fd, maxBytes);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads an open file of the caller's, which must be a regular file of at most `maxBytes`, and
 * closes it without waiting for the close. One `fstat`, then reads into a buffer sized from it.
 * @throws AgentError `NO_IDENTITY` when it is not a regular file or is larger than `maxBytes`;
 *   the errno error when the file cannot be read
 */
export async function readRegularFile(fd: number, maxBytes: number): Promise<string> {
  try {
    const info = await fstatFd(fd);
    checkRegular(info, maxBytes);
    return orTooLarge(await readUpTo(fd, maxBytes, info), maxBytes);
  } finally {
    // Closing a file of the caller's filesystem may wait on it (a FUSE flush): nothing waits for it here.
    close(fd, () => undefined);
  }
}

/**
 * {@link readRegularFile} in line, for a file {@link onMemoryFilesystem} placed in memory: the
 * `fstat`, the reads and the close of a regular file there wait for nothing. Anything else on
 * that filesystem (a device node a container made in its `/dev` tmpfs) is refused and closed
 * through the thread pool, since closing a device runs its driver, which may sleep.
 */
export function readRegularFileSync(fd: number, maxBytes: number): string {
  let regular = false;
  try {
    const info = fstatSync(fd);
    regular = info.isFile();
    checkRegular(info, maxBytes);
    return orTooLarge(readUpToSync(fd, maxBytes, info.size), maxBytes);
  } finally {
    if (regular) closeSync(fd);
    else close(fd, () => undefined);
  }
}

/** A regular file whose reported size is within the cap, before anything is read. */
function checkRegular(info: Stats, maxBytes: number): void {
  if (!info.isFile()) throw new AgentError('NO_IDENTITY', 'file in the caller root is not a regular file');
  if (info.size > maxBytes) throw tooLarge(maxBytes);
}

/** The text read, or the refusal when the file held more than the cap after all (it grew). */
function orTooLarge(text: string | undefined, maxBytes: number): string {
  if (text === undefined) throw tooLarge(maxBytes);
  return text;
}

function tooLarge(maxBytes: number): AgentError {
  return new AgentError('NO_IDENTITY', `file in the caller root is larger than ${maxBytes} bytes`);
}

/**
 * A first buffer for a read of at most `maxBytes`: {@link FIRST_READ_BYTES}, or one byte past the
 * size the file reports (`sizeHint`) when that is larger, but never more than one byte past the cap.
 */
function firstBuffer(maxBytes: number, sizeHint = 0): Buffer {
  return Buffer.allocUnsafe(Math.min(Math.max(FIRST_READ_BYTES, sizeHint + 1), maxBytes + 1));
}

/**
 * The buffer to read on into after `length` bytes: `buffer` while it has room, else a copy twice
 * as large (at most one byte past the cap).
 * @returns `undefined` once more than `maxBytes` were read
 */
function roomIn(buffer: Buffer, length: number, maxBytes: number): Buffer | undefined {
  if (length < buffer.length) return buffer;
  if (length > maxBytes) return undefined;
  const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, maxBytes + 1));
  buffer.copy(grown, 0, 0, length);
  return grown;
}

/**
 * Reads an open regular file to its end as UTF-8, into a buffer sized from its `fstat` (`info`)
 * that doubles as needed. A read that returns less than asked once the reported size is reached
 * is the end (what a regular file does), which saves the read that would return 0.
 * @returns `undefined` when the file holds more than `maxBytes`
 */
async function readUpTo(fd: number, maxBytes: number, info: Stats): Promise<string | undefined> {
  let buffer: Buffer | undefined = firstBuffer(maxBytes, info.size);
  let length = 0;
  for (;;) {
    buffer = roomIn(buffer, length, maxBytes);
    if (buffer === undefined) return undefined;
    const asked = buffer.length - length;
    const { bytesRead } = await readFd(fd, buffer, length, asked, null);
    length += bytesRead;
    if (bytesRead === 0 || (bytesRead < asked && length >= info.size)) return buffer.toString('utf8', 0, length);
  }
}

/**
 * {@link readUpTo} for a file descriptor read synchronously. `size` is what `fstat` reported: procfs
 * reports 0, and its files are read until a read returns nothing.
 */
function readUpToSync(fd: number, maxBytes: number, size = 0): string | undefined {
  let buffer: Buffer | undefined = firstBuffer(maxBytes, size);
  let length = 0;
  for (;;) {
    buffer = roomIn(buffer, length, maxBytes);
    if (buffer === undefined) return undefined;
    const asked = buffer.length - length;
    const bytesRead = readSync(fd, buffer, length, asked, null);
    length += bytesRead;
    if (bytesRead === 0 || (size > 0 && bytesRead < asked && length >= size)) return buffer.toString('utf8', 0, length);
  }
}
