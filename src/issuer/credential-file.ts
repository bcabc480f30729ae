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
import { AgentError } from '../errors.js';
import { NotRegularFileError, readRegularFile } from '../regular-file.js';

/** Largest credential file read, in bytes (1 MiB): a bundle of a hundred roots is ~100 KiB. */
export const MAX_CREDENTIAL_FILE_BYTES = 1024 * 1024;

/** Reads a whole file; the default opens it with the checks above. Tests pass an in-memory one. */
export type ReadFile = (path: string) => Promise<Buffer>;

const ABSENT = new Set(['ENOENT', 'ENOTDIR']);
/** Errors that no retry fixes: the path itself is wrong. */
const BROKEN_PATH = new Set(['ELOOP', 'ENAMETOOLONG', 'EISDIR']);

/** The credential file is not there. */
export class CredentialFileAbsentError extends AgentError {
  readonly path: string;

  constructor(what: string, path: string, options?: { cause?: unknown }) {
    super('CREDENTIALS_INVALID', `cannot read ${what} ${path}: ENOENT`, options);
    this.path = path;
  }
}

const readBounded: ReadFile = (path) => readRegularFile(path, MAX_CREDENTIAL_FILE_BYTES);

/**
 * Reads the credential file `path`, described as `what` in errors (e.g. `issuer key`).
 * @param readFile the reader; default: `readRegularFile` (`src/regular-file.ts`) with {@link MAX_CREDENTIAL_FILE_BYTES}
 * @throws CredentialFileAbsentError when it does not exist; AgentError `CREDENTIALS_INVALID`
 *   when it is unusable; AgentError `CREDENTIALS_UNREADABLE` when it cannot be read now
 */
export async function readCredentialFile(path: string, what: string, readFile: ReadFile = readBounded): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if (err instanceof AgentError) throw err;
    if (err instanceof NotRegularFileError) throw new AgentError('CREDENTIALS_INVALID', `${what} ${path} ${err.message}`);
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
