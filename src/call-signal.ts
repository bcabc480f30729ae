/**
 * The cancellation signal of a gRPC server call, for the handlers that pass one down to the work
 * they await: the Workload API and the central issuer's node service. (Certify listens for the
 * call's `cancelled` itself: `src/server/certify-handler.ts`.)
 */
import type { ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { CALL_CANCELLED } from './abort.js';

/** A unary or server-streaming call, whatever its message types. */
export type AnyServerCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/** A call's signal and the function that detaches it; see {@link callSignal}. */
export interface CallSignal {
  readonly signal: AbortSignal;
  /** Detaches the signal from the call: later cancellations no longer abort it. */
  readonly done: () => void;
}

/**
 * A signal that aborts when the client of `call` hangs up or cancels (grpc-js emits `cancelled`)
 * while the handler's work runs. Call `done` once that work has settled: grpc-js also emits
 * `cancelled` after every call it has ended, which would otherwise abort a signal nobody listens
 * to any more (an `Event` dispatched per call), and a stream would hold its controller for life.
 */
export function callSignal(call: AnyServerCall): CallSignal {
  const controller = new AbortController();
  const abort = () => controller.abort(CALL_CANCELLED);
  if (call.cancelled) abort();
  else call.once('cancelled', abort);
  return { signal: controller.signal, done: () => call.off('cancelled', abort) };
}
