/**
 * The one reader of credential files: trust anchors, the issuer certificate and key, the JWT key
 * (issue 15). A credential file must be a regular file (symlinks, such as a mounted Secret's
 * `..data` links, are followed) of at most {@link MAX_CREDENTIAL_FILE_BYTES}: a FIFO or
 * `/dev/zero` configured by mistake used to hang the agent silently. Failures say which of three
 * things happened, so nobody reads "file missing" when the agent ran out of file descriptors:
 * - absent (ENOENT, ENOTDIR): {@link CredentialFileAbsentError}, code `CREDENTIALS_INVALID`;
 * - unusable (not a regular file, too large, a symlink loop): `CREDENTIALS_INVALID`;
 * - cannot be read now (EMFILE, ENFILE, EACCES, EIO, ...): `CREDENTIALS_UNREADABLE`, which a
 *   reload treats as "keep the current credentials and try again later".
 */
import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { AgentError } from '../errors.js';

/** Largest credential file read, in bytes (1 MiB): a bundle of a hundred roots is ~100 KiB. */
export const MAX_CREDENTIAL_FILE_BYTES = 1024 * 1024;

/** Reads a whole file; the default opens it with the checks above. Tests pass an in-memory one. */
export type ReadFile = (path: string) => Promise<Buffer>;

const ABSENT = new Set(['ENOENT', 'ENOTDIR']);
/** Errors that no retry fixes: the path itself is wrong. */
const BROKEN_PATH = new Set(['ELOOP', 'ENAMETOOLONG', 'EISDIR']);

/** A file that exists but is no credential file; the message is the reason, e.g. `is a fifo, ...`. */
class UnusableFileError extends Error {}

/** The credential file is not there. */
export class CredentialFileAbsentError extends AgentError {
  readonly path: string;

  constructor(what: string, path: string, options?: { cause?: unknown }) {
    super('CREDENTIALS_INVALID', `cannot read ${what} ${path}: ENOENT`, options);
    this.path = path;
  }
}

function fileType(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a fifo';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads `path` as a credential file: opened without blocking (a FIFO must not wait for a
 * writer), checked to be a regular file, and read to at most `maxBytes`.
 * @throws an error that {@link readCredentialFile} turns into a coded one: the `open`/`read`
 *   error, or one saying the file is not a regular file or is larger than `maxBytes`
 */
export async function readRegularFile(path: string, maxBytes = MAX_CREDENTIAL_FILE_BYTES): Promise<Buffer> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UnusableFileError(`is ${fileType(info)}, not a regular file`);
    if (info.size > maxBytes) throw new UnusableFileError(`is larger than ${maxBytes} bytes`);
    // Read one byte more than allowed, so a file that grew since the stat is still caught.
    const buffer = Buffer.alloc(Math.min(info.size, maxBytes) + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw new UnusableFileError(`is larger than ${maxBytes} bytes`);
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/**
 * Reads the credential file `path`, described as `what` in errors (e.g. `issuer key`).
 * @param readFile the reader; default {@link readRegularFile}
 * @throws CredentialFileAbsentError when it does not exist; AgentError `CREDENTIALS_INVALID`
 *   when it is unusable; AgentError `CREDENTIALS_UNREADABLE` when it cannot be read now
 */
export async function readCredentialFile(path: string, what: string, readFile: ReadFile = readRegularFile): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if (err instanceof AgentError) throw err;
    if (err instanceof UnusableFileError) throw new AgentError('CREDENTIALS_INVALID', `${what} ${path} ${err.message}`);
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (ABSENT.has(code)) throw new CredentialFileAbsentError(what, path, { cause: err });
    if (BROKEN_PATH.has(code)) throw new AgentError('CREDENTIALS_INVALID', `cannot read ${what} ${path}: ${code}`, { cause: err });
    throw new AgentError('CREDENTIALS_UNREADABLE', `cannot read ${what} ${path} now: ${code}`, { cause: err });
  }
}

/** Like {@link readCredentialFile}, but `undefined` when the file does not exist. */
export async function readCredentialFileIfPresent(path: string, what: string, readFile?: ReadFile): Promise<Buffer | undefined> {
  try {
    return await readCredentialFile(path, what, readFile);
  } catch (err) {
    if (err instanceof CredentialFileAbsentError) return undefined;
    throw err;
  }
}
