/**
 * Pod → token (docs/kubernetes.md): the service-account token a caller presented on the wire, else the
 * pod's own projected token read through its root. The Linkerd proxy sends no token, so the
 * file is what serves it (docs/kubernetes.md).
 */
import { assertRootPath, type ProcReader } from './proc.js';

/** Where Linkerd projects its identity token (audience `identity.l5d.io`). */
export const DEFAULT_TOKEN_PATHS: readonly string[] = ['/var/run/secrets/tokens/linkerd-identity-token'];

/** A token and where it came from (never log `token`). */
export interface FoundToken {
  readonly token: string;
  /** `bearer`: the caller's `authorization` metadata; `file`: a projected token file. */
  readonly source: 'bearer' | 'file';
  /** For `file`: the path inside the caller's root that held it. */
  readonly path?: string;
}

/** What {@link findCallerToken} needs from the /proc readers. */
export type TokenFileReader = Pick<ProcReader, 'readFileInRoot'>;

/** Input of {@link findCallerToken}. */
export interface FindCallerTokenOptions {
  /** The caller's PID (host PID namespace, as seen by `readFileInRoot`). */
  readonly pid: number;
  /** The token from `authorization: Bearer <jwt>`, if the caller sent one. */
  readonly bearerToken?: string | undefined;
  /** Paths inside the caller's root, tried in order; the first non-empty file wins. */
  readonly tokenPaths: readonly string[];
  readonly reader: TokenFileReader;
}

/**
 * Extracts the token from an `authorization` metadata value (`Bearer <jwt>`, scheme matched
 * case-insensitively as RFC 9110 says).
 * @returns the trimmed token, or `undefined` when the value is not a non-empty bearer credential
 */
export function parseBearerAuthorization(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(value);
  return m ? m[1] : undefined;
}

/**
 * Checks configured token paths (absolute, no `.`/`..`, at least one).
 * @throws TypeError naming the bad path
 */
export function assertTokenPaths(paths: readonly string[]): void {
  if (paths.length === 0) throw new TypeError('at least one token path is required');
  for (const path of paths) assertRootPath(path);
}

/**
 * Finds the caller's token: a presented bearer token wins; otherwise each token path is read in
 * the caller's root and the first one that exists and is not blank is used. Whitespace is trimmed.
 * @returns `undefined` when the caller has no token
 * @throws whatever `reader.readFileInRoot` throws (`ProcessGoneError`, `NO_IDENTITY` for a file
 *   that is not a small regular file, `ATTESTATION_UNAVAILABLE` for IO errors)
 */
export async function findCallerToken(options: FindCallerTokenOptions): Promise<FoundToken | undefined> {
  const presented = options.bearerToken?.trim();
  if (presented) return { token: presented, source: 'bearer' };
  for (const path of options.tokenPaths) {
    const text = await options.reader.readFileInRoot(options.pid, path);
    const token = text?.trim();
    if (token) return { token, source: 'file', path };
  }
  return undefined;
}
