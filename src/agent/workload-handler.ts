/**
 * Thin Workload API handlers (SPEC §2): resolve the caller, ask the store, write shared
 * responses, fail with the one status mapping in `status.ts`.
 */
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { AgentError } from '../errors.js';
import type { TrustAnchors } from '../issuer/index.js';
import type { Logger } from '../log.js';
import type { Receiver } from '../value-channel.js';
import { type CallerResolver, checkSecurityHeader } from './caller-resolver.js';
import { createLatestWriter } from './latest-writer.js';
import type { StreamRegistry } from './stream-registry.js';
import type { SvidStore } from './svid-store.js';
import type { WorkloadCalls } from './workload-calls.js';
import type { ResponseCache } from './x509-response.js';

export interface WorkloadHandlerOptions {
  readonly resolver: CallerResolver;
  readonly store: SvidStore;
  readonly anchors: Receiver<TrustAnchors>;
  readonly responses: ResponseCache;
  readonly streams: StreamRegistry;
  readonly logger: Logger;
  /** How calls end (status, log line, metrics). */
  readonly calls: WorkloadCalls;
  /** The JWT methods (`jwt-handler.ts`), which answer UNIMPLEMENTED themselves when JWT-SVIDs are off. */
  readonly jwt: UntypedServiceImplementation;
}

type Stream = ServerWritableStream<unknown, unknown>;
type Unary = ServerUnaryCall<unknown, unknown>;

/** Builds the `SpiffeWorkloadAPI` implementation. */
export function createWorkloadHandlers(options: WorkloadHandlerOptions): UntypedServiceImplementation {
  const { resolver, store, anchors, responses, streams, calls } = options;
  const log = options.logger.child({ subsystem: 'workload_api' });

  function unimplemented(method: string, message: string) {
    return (call: Stream | Unary, callback?: sendUnaryData<unknown>) => {
      try {
        // The header rule comes first for every method of the service (SPEC §2).
        checkSecurityHeader(call.metadata);
        throw new AgentError('NOT_IMPLEMENTED', message);
      } catch (err) {
        calls.fail(method, call, err, callback);
      }
    };
  }

  return {
    FetchX509SVID: calls.serverStreaming('FetchX509SVID', async (call, signal) => {
      const resolved = await resolver.resolve(call, signal);
      const { identity, caller } = resolved;
      log.debug({ method: 'FetchX509SVID', pid: caller.peer.pid, uid: caller.peer.uid, spiffe_id: identity.spiffeId }, 'attested caller');
      const lease = await store.acquire(resolved, { signal });
      const writer = createLatestWriter(call);
      const push = () => writer.write(responses.x509Svid(lease.current(), anchors.get()));
      const stopSvid = lease.subscribe(push);
      const stopAnchors = anchors.subscribe(push);
      // Its SVID expired unrenewed (issuer unreachable or refusing): end, never push it expired.
      const stopEnd = lease.onEnd((reason) => calls.endStream('FetchX509SVID', call, reason));
      streams.track(call, () => {
        stopSvid();
        stopAnchors();
        stopEnd();
        lease.release();
      });
      if (!call.cancelled) push();
    }),
    FetchX509Bundles: calls.serverStreaming('FetchX509Bundles', async (call, signal) => {
      await resolver.resolve(call, signal);
      const writer = createLatestWriter(call);
      const push = () => writer.write(responses.x509Bundles(anchors.get()));
      const stop = anchors.subscribe(push);
      streams.track(call, stop);
      if (!call.cancelled) push();
    }),
    ...options.jwt,
    FetchWITSVID: unimplemented('FetchWITSVID', 'fetching WIT-SVIDs is not implemented'),
    FetchWITBundles: unimplemented('FetchWITBundles', 'fetching WIT bundles is not implemented'),
  };
}
