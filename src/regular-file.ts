/**
 * Reading a file the operator named, bounded (issue 15): it must be a regular file (symlinks are
 * followed) of at most a given size. It is opened without blocking, so a FIFO or a device
 * configured by mistake is refused at once instead of hanging the agent, and `/dev/zero` is not
 * read forever. Used for credential files (`issuer/credential-file.ts`), `--config` and the dev
 * credentials' check.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** A file that exists but is not one to read; the message is the reason, e.g. `is a fifo, not a regular file`. */
export class NotRegularFileError extends Error {
  override readonly name = 'NotRegularFileError';
}

const FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function fileType(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a fifo';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The buffer to read into: one byte more than allowed, so a file that grew since the stat is still caught. */
function bufferFor(info: Stats, maxBytes: number): Buffer {
  if (!info.isFile()) throw new NotRegularFileError(`is ${fileType(info)}, not a regular file`);
  if (info.size > maxBytes) throw new NotRegularFileError(`is larger than ${maxBytes} bytes`);
  return Buffer.alloc(Math.min(info.size, maxBytes) + 1);
}

function checked(buffer: Buffer, length: number, maxBytes: number): Buffer {
  if (length > maxBytes) throw new NotRegularFileError(`is larger than ${maxBytes} bytes`);
  return buffer.subarray(0, length);
}

/**
 * Reads `path`, a regular file of at most `maxBytes`.
 * @throws NotRegularFileError when it is no regular file or is larger; the `open`/`read` error
 *   (with its errno `code`) when it cannot be read
 */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, FLAGS);
  try {
    const buffer = bufferFor(await handle.stat(), maxBytes);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return checked(buffer, length, maxBytes);
  } finally {
    await handle.close();
  }
}

/** {@link readRegularFile}, synchronously (the command line reads `--config` before anything runs). */
export function readRegularFileSync(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, FLAGS);
  try {
    const buffer = bufferFor(fstatSync(fd), maxBytes);
    let length = 0;
    while (length < buffer.length) {
      const bytesRead = readSync(fd, buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return checked(buffer, length, maxBytes);
  } finally {
    closeSync(fd);
  }
}
