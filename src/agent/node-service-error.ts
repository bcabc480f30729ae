/**
 * How a call to the central issuer's node service failed, as one error type: the agent's status
 * mapping (`status.ts`) turns it into what a workload may see, and the client uses it to tell an
 * issuer that could not be reached from one that answered.
 */
import { status } from '@grpc/grpc-js';
import { AgentError } from '../errors.js';

/** A node-service call that ended with a gRPC status other than OK. */
export class NodeServiceError extends AgentError {
  /** The node-service method, e.g. `SignX509SVID`. */
  readonly method: string;
  /** The gRPC status the issuer (or the channel) ended the call with. */
  readonly status: status;

  constructor(method: string, code: status, details: string) {
    super('ISSUER_CALL_FAILED', `issuer ${method} failed: ${status[code] ?? code}`, details ? { cause: new Error(details) } : undefined);
    this.method = method;
    this.status = code;
  }
}

/**
 * Statuses with which a call may end without the issuer having answered it (the channel could
 * not connect, or gave up waiting). Whether it did is told by the channel's state.
 */
export const TRANSPORT_STATUSES: ReadonlySet<status> = new Set([status.UNAVAILABLE, status.DEADLINE_EXCEEDED]);
