/**
 * A workload's token read again, later, from the same process (docs/central-issuer.md,
 * "Renewal"): when an SVID rotates, the central issuer wants fresh evidence from a live caller of
 * that identity, not the token the caller had when it first connected (projected tokens rotate;
 * an old one may have expired or outlived its pod). The process must still be the one that was
 * attested: its start time is checked before and after the read, as at attestation, so a
 * recycled pid lends nobody its token.
 */

import type { ProcReader } from './proc.js';
import { findCallerToken } from './token-source.js';
import type { Attestation } from './types.js';

/** Options of {@link createFreshTokenReader}. */
export interface FreshTokenReaderOptions {
  readonly proc: Pick<ProcReader, 'readStartTime' | 'readFileInRoot'>;
  /** `--token-path` list, read in the caller's root, in order. */
  readonly tokenPaths: readonly string[];
}

/**
 * Reads a caller's token again. Resolves to `undefined` when there is none to be had: the
 * attestation names no process, the process is gone or is another one now, or it has no token
 * file (a caller that presented its token on the wire keeps that one while its process lives).
 * Never rejects.
 */
export type FreshTokenReader = (attestation: Attestation) => Promise<string | undefined>;

export function createFreshTokenReader(options: FreshTokenReaderOptions): FreshTokenReader {
  const { proc, tokenPaths } = options;
  const alive = async (pid: number, startTime: string): Promise<boolean> =>
    (await proc.readStartTime(pid).catch(() => undefined)) === startTime;
  return async (attestation) => {
    const caller = attestation.caller;
    if (caller === undefined) return undefined;
    const pid = caller.peer.pid;
    if (!(await alive(pid, caller.startTime))) return undefined;
    const found = await findCallerToken({ pid, tokenPaths, reader: proc }).catch(() => undefined);
    if (!(await alive(pid, caller.startTime))) return undefined;
    if (found) return found.token;
    return attestation.tokenSource === 'bearer' ? attestation.token : undefined;
  };
}
