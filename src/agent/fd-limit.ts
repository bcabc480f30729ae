/**
 * The process's file-descriptor limit (`RLIMIT_NOFILE`), read with libc's `getrlimit` through
 * koffi. Node.js raises the soft limit to the hard one when it starts (as Go does for SPIRE), so
 * the soft limit read here is what the agent can use. The connection cap is kept below it with
 * {@link FD_RESERVE} to spare (issue 15): running out of descriptors fails accepts, credential
 * reloads, `/proc` reads and API calls alike.
 */
import koffi from 'koffi';

const RLIMIT_NOFILE = 7;

/** Descriptors kept for everything but Workload API connections: files, /proc reads, API and health sockets. */
export const FD_RESERVE = 256;

type GetRlimit = (resource: number, out: Record<string, number | bigint>) => number;
let getrlimit: GetRlimit | undefined;

/** The soft `RLIMIT_NOFILE`; `undefined` when it cannot be read or is unlimited. */
export function fdLimit(): number | undefined {
  try {
    if (!getrlimit) {
      const libc = koffi.load('libc.so.6');
      koffi.struct('svid_rlimit', { cur: 'uint64', max: 'uint64' });
      getrlimit = libc.func('int getrlimit(int resource, _Out_ svid_rlimit *rlim)') as GetRlimit;
    }
    const out: Record<string, number | bigint> = {};
    if (getrlimit(RLIMIT_NOFILE, out) !== 0) return undefined;
    const cur = out.cur;
    return typeof cur === 'number' && Number.isSafeInteger(cur) ? cur : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The connection cap to use: `wanted`, lowered to leave {@link FD_RESERVE} descriptors of
 * `limit` for the rest (at least 1).
 */
export function connectionCapFor(wanted: number, limit: number | undefined): number {
  if (limit === undefined) return wanted;
  return Math.max(1, Math.min(wanted, limit - FD_RESERVE));
}
