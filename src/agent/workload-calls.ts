/**
 * How every Workload API call runs and ends: its body gets an `AbortSignal` that aborts when the
 * client hangs up or cancels; success is counted; failure is mapped by `workloadStatus` (the one
 * status mapping), logged once with its cause, counted, and sent to the client. A call whose
 * client went away ends as CANCELLED, whatever its body was doing. The X.509 and JWT handlers
 * both run their bodies through this.
 */
import { type ServerUnaryCall, type ServerWritableStream, type sendUnaryData, status } from '@grpc/grpc-js';
import { callerGone } from '../abort.js';
import { callSignal } from '../call-signal.js';
import { describeError } from '../errors.js';
import { LOG_FIELD, type Logger } from '../log.js';
import { workloadStatus } from './status.js';

type Stream = ServerWritableStream<unknown, unknown>;
type Unary<T> = ServerUnaryCall<T, unknown>;

/** Builds Workload API handlers around their bodies, and ends calls that fail. */
export interface WorkloadCalls {
  /** Ends `call` with the status for `err`; a unary call answers through `callback`. */
  fail(method: string, call: Stream | Unary<unknown>, err: unknown, callback?: sendUnaryData<unknown>): void;
  /**
   * Ends a stream that was set up (and counted) with the status for `err`, logged like a failure
   * but not counted again: an SVID that expired before it could be renewed.
   */
  endStream(method: string, call: Stream, err: unknown): void;
  /** A server-streaming handler running `body`; a rejection ends the stream with its status. */
  serverStreaming(method: string, body: (call: Stream, signal: AbortSignal) => Promise<void>): (call: Stream) => void;
  /** A unary handler answering with what `body` resolves to, or the status of its rejection. */
  unary<T>(
    method: string,
    body: (call: Unary<T>, signal: AbortSignal) => Promise<unknown>,
  ): (call: Unary<T>, callback: sendUnaryData<unknown>) => void;
}

/** Runs `body` with the call's signal, detached when the body settles. */
function run<C extends Stream | Unary<unknown>, R>(call: C, body: (call: C, signal: AbortSignal) => Promise<R>): Promise<R> {
  const { signal, done } = callSignal(call);
  return body(call, signal).finally(done);
}

/**
 * @param onResult counts each call's outcome (metrics); `code` is the gRPC status name or `OK`
 */
export function createWorkloadCalls(logger: Logger, onResult?: (method: string, code: string) => void): WorkloadCalls {
  const log = logger.child({ [LOG_FIELD.subsystem]: 'workload_api' });
  const end = (method: string, call: Stream | Unary<unknown>, err: unknown, callback?: sendUnaryData<unknown>): string => {
    const st = workloadStatus(call.cancelled ? callerGone() : err);
    const code = status[st.code] ?? String(st.code);
    // Same field names as the attestor's entries (`conn`), so one call's lines can be joined.
    const fields = { [LOG_FIELD.method]: method, [LOG_FIELD.connection]: call.getPeer(), code, [LOG_FIELD.error]: describeError(err) };
    if (st.code === status.UNAVAILABLE) log.warn(fields, 'workload api call failed');
    else if (st.code === status.CANCELLED) log.info(fields, 'workload api call cancelled');
    else log.info(fields, 'workload api call refused');
    if (callback) callback({ code: st.code, details: st.details });
    else if (!(call as Stream).cancelled) (call as Stream).emit('error', { code: st.code, details: st.details });
    return code;
  };
  const fail: WorkloadCalls['fail'] = (method, call, err, callback) => {
    const code = end(method, call, err, callback);
    onResult?.(method, code);
  };
  return {
    fail,
    endStream: (method, call, err) => void end(method, call, err),
    serverStreaming: (method, body) => (call) => {
      run(call, body).then(
        () => onResult?.(method, 'OK'),
        (err) => fail(method, call, err),
      );
    },
    unary: (method, body) => (call, callback) => {
      run(call, body).then(
        (response) => {
          onResult?.(method, 'OK');
          callback(null, response);
        },
        (err) => fail(method, call, err, callback),
      );
    },
  };
}
