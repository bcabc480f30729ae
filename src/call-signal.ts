/** The cancellation signal of a server call, for the handlers of both services on the issuer's port. */
import type { ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { CALL_CANCELLED } from '../abort.js';

/** A unary or server-streaming call, whatever its message types. */
export type AnyServerCall = ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>;

/** A signal that aborts when the client of `call` hangs up or cancels. */
export function signalOf(call: AnyServerCall): AbortSignal {
  const controller = new AbortController();
  if (call.cancelled) controller.abort(CALL_CANCELLED);
  else call.once('cancelled', () => controller.abort(CALL_CANCELLED));
  return controller.signal;
}
