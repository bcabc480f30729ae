/**
 * Cancellation: a caller that goes away stops waiting at once, while the work it started may
 * go on for others (a shared SVID issuance, a TokenReview whose answer fills the cache).
 */
import { AgentError } from './errors.js';

/** The error a caller that went away gets; the Workload API ends its call as CANCELLED. */
export function callerGone(): AgentError {
  return new AgentError('CANCELLED', 'the caller went away');
}

/**
 * The reason given to a gRPC call's abort signal. One shared value: `abort()` without a reason
 * builds a DOMException, stack and all, and grpc-js emits `cancelled` after every call it has
 * finished too, so each call would pay for one (measured: ~16 µs and its garbage per Certify).
 */
export const CALL_CANCELLED: Error = new Error('the call was cancelled or has ended');

/**
 * `work`, unless `signal` aborts first: then rejects at once with {@link callerGone}, and `work`
 * goes on (its outcome is then ignored, a rejection included).
 */
export function stopWaitingOnAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(callerGone());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(callerGone());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
