/**
 * One line a person can act on for a failed Workload API call, shared by the `api` commands:
 * what went wrong in words (no socket, nothing listening, no identity, JWT-SVIDs disabled),
 * not grpc-js's internals.
 */
import * as grpc from '@grpc/grpc-js';
import { formatDuration } from '../duration.js';
import { AgentError } from '../errors.js';
import { WorkloadApiError } from './workload-client.js';

/** What {@link explainCallError} needs to know about the call. */
export interface CallContext {
  /** The agent socket the call went to. */
  readonly socketPath: string;
  /** The call's deadline, ms. */
  readonly timeoutMs: number;
  /** What was being done, e.g. `fetching the JWT-SVID`; prefixes the message as `<what> failed: `. */
  readonly what?: string;
  /** The message for UNIMPLEMENTED; default: the server does not serve the Workload API. */
  readonly unimplemented?: string;
}

/** The message for UNIMPLEMENTED from a JWT method: svid-agent answers so when run without `--jwt-key`. */
export function jwtDisabled(socketPath: string): string {
  return `JWT-SVIDs are disabled on the agent at ${socketPath} (it runs without --jwt-key; start it with --jwt-key FILE)`;
}

/**
 * Why a connection to the socket failed, in words, from grpc-js's UNAVAILABLE details
 * (`... connect ENOENT /path`); `undefined` when they name no known cause.
 */
export function unreachableReason(details: string): string | undefined {
  if (details.includes('ENOENT')) return 'no socket there';
  if (details.includes('ECONNREFUSED')) return 'nothing is listening on it';
  if (details.includes('EACCES')) return 'permission denied';
  return undefined;
}

/**
 * Turns a failed call into an {@link AgentError} with one line a user can act on:
 * `AGENT_UNAVAILABLE` when no working agent answered (no socket, nothing listening, no
 * permission, unavailable, no answer in time). Errors other than {@link WorkloadApiError} are
 * returned unchanged.
 */
export function explainCallError(err: unknown, call: CallContext): unknown {
  if (!(err instanceof WorkloadApiError)) return err;
  const { socketPath } = call;
  const prefix = call.what === undefined ? '' : `${call.what} failed: `;
  const detail = err.message;
  const fail = (code: AgentError['code'], message: string) => new AgentError(code, `${prefix}${message}`);
  switch (err.status) {
    case grpc.status.UNAVAILABLE: {
      const reason = unreachableReason(detail);
      if (reason === 'no socket there')
        return new AgentError(
          'AGENT_UNAVAILABLE',
          `no Workload API socket at ${socketPath} (is the agent running? use --socket or SPIFFE_ENDPOINT_SOCKET)`,
        );
      if (reason === 'nothing is listening on it')
        return new AgentError('AGENT_UNAVAILABLE', `nothing is listening on ${socketPath} (a stale socket file?)`);
      if (reason === 'permission denied') return new AgentError('AGENT_UNAVAILABLE', `cannot connect to ${socketPath}: permission denied`);
      return fail('AGENT_UNAVAILABLE', `the agent at ${socketPath} is unavailable (${detail})`);
    }
    case grpc.status.PERMISSION_DENIED:
      return fail('NO_IDENTITY', `the agent issued no identity to this process (${detail})`);
    case grpc.status.DEADLINE_EXCEEDED:
      return fail('AGENT_UNAVAILABLE', `no answer from ${socketPath} within ${formatDuration(call.timeoutMs)} (DEADLINE_EXCEEDED)`);
    case grpc.status.UNIMPLEMENTED:
      return fail('NOT_IMPLEMENTED', call.unimplemented ?? `the server at ${socketPath} does not serve the Workload API (${detail})`);
    default:
      return new AgentError(err.code, `${call.what ?? 'the call'} failed (${detail})`);
  }
}
