/**
 * Why `svid-agent run` could not start, as the one line a person reads: the flag it is about
 * and what to do, not a raw `EEXIST`/`EACCES`. The exit code follows the rule in docs/cli.md:
 * 2 when the cause is what the agent was given (a flag, the config, the credential files), 1
 * when something failed while starting.
 */
import { dirname } from 'node:path';
import { describeError, fileErrorReason, isAgentError } from '../errors.js';
import { EXIT, type ExitCode } from './exit.js';
import type { RunConfig } from './run-config.js';

/** What `run` prints (after `svid-agent: `) and exits with. */
export interface StartFailure {
  readonly message: string;
  readonly exitCode: ExitCode;
}

/** A failed file-system call: its code and the path it was about (`address` for `listen`). */
function fsFailure(err: unknown): { code: string; syscall: string; target: string } | undefined {
  const e = err as (NodeJS.ErrnoException & { address?: unknown }) | undefined;
  const target = typeof e?.path === 'string' ? e.path : typeof e?.address === 'string' ? e.address : undefined;
  if (typeof e?.code !== 'string' || target === undefined) return undefined;
  return { code: e.code, syscall: typeof e.syscall === 'string' ? e.syscall : '', target };
}

/** `path` is `dir` or lies below it. */
const within = (path: string, dir: string): boolean => path === dir || path.startsWith(`${dir}/`);

/** Explains a start-up failure of `run` with `config`. */
export function explainStartFailure(err: unknown, config: RunConfig): StartFailure {
  const fs = fsFailure(err);
  if (fs !== undefined) {
    const inTheWay = fs.code === 'EEXIST' || fs.code === 'ENOTDIR';
    const denied = fs.code === 'EACCES' || fs.code === 'EPERM' || fs.code === 'EROFS';
    if (config.dev && within(fs.target, config.devDir) && (inTheWay || denied)) {
      return { message: devMessage(config.devDir, fs, inTheWay), exitCode: EXIT.USAGE };
    }
    const socketDir = dirname(config.socket);
    // The socket is bound beside its path and renamed into place, so `listen` names that file.
    const binding = (fs.syscall === 'listen' || fs.syscall === 'bind') && dirname(fs.target) === socketDir;
    if ((fs.target === config.socket || binding || within(socketDir, fs.target)) && (inTheWay || denied)) {
      const why = inTheWay
        ? `a file is in the way of its directory ${socketDir}`
        : `cannot ${fs.syscall === 'listen' || fs.syscall === 'bind' ? 'create the socket in' : 'create'} ${socketDir}: ${fileErrorReason(err)}`;
      const fix = denied
        ? `run as a user who may write ${socketDir}, or choose another place with --socket`
        : 'choose another place with --socket';
      return { message: `--socket ${config.socket}: ${why} (${fix})`, exitCode: EXIT.USAGE };
    }
    return { message: `cannot use ${fs.target}: ${fileErrorReason(err)}`, exitCode: EXIT.FAILURE };
  }
  if (isAgentError(err, 'CONFIG_INVALID', 'CREDENTIALS_INVALID')) return { message: err.message, exitCode: EXIT.USAGE };
  if (isAgentError(err)) return { message: err.message, exitCode: EXIT.FAILURE };
  return { message: describeError(err).replaceAll('\n', ' '), exitCode: EXIT.FAILURE };
}

function devMessage(devDir: string, fs: { syscall: string; target: string }, inTheWay: boolean): string {
  if (inTheWay) return `--dev: a file is in the way at ${fs.target}; ${devDir} must be a directory (move the file away)`;
  if (fs.syscall === 'mkdir' && fs.target === devDir) {
    return `--dev: cannot create ${devDir}: permission denied (run from a directory you may write to)`;
  }
  return `--dev: cannot use ${devDir}: permission denied at ${fs.target} (another user made it: run as that user, or delete it to start afresh)`;
}
