/**
 * Thin Workload API handlers (docs/workload-api.md): resolve the caller, ask the store, write shared
 * responses, fail with the one status mapping in `status.ts`.
 */
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData, UntypedServiceImplementation } from '@grpc/grpc-js';
import { AgentError } from '../errors.js';
import type { TrustAnchors } from '../issuer/index.js';
import type { Logger } from '../log.js';
import type { Receiver } from '../value-channel.js';
import { type CallerResolver, checkSecurityHeader } from './caller-resolver.js';
import { createLatestWriter, type LatestWriter } from './latest-writer.js';
import { createPushQueue, PUSH_BATCH, type Pushable } from './push-queue.js';
import type { StreamRegistry } from './stream-registry.js';
import type { IssuedSvid, SvidLease, SvidStore } from './svid-store.js';
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
  /**
   * Runs `turn` on a later turn of the event loop (`setImmediate` in the agent): a rotation or a
   * trust-anchor change reaches the open streams a batch per turn (`push-queue.ts`).
   */
  readonly defer: (turn: () => void) => void;
}

type Stream = ServerWritableStream<unknown, unknown>;
type Unary = ServerUnaryCall<unknown, unknown>;

/**
 * One open FetchX509SVID stream: its state in fields, its code on the prototype, so that an open
 * stream costs the agent a few small objects (docs/performance.md, "Open streams"). Its lease
 * tells it of rotations; the handlers tell every open stream of a trust-anchor change through
 * one subscription for all of them. Either way it is queued, and pushed in its turn.
 */
class SvidStream implements Pushable {
  private readonly writer: LatestWriter;
  private readonly lease: SvidLease;
  private readonly response: (svid: IssuedSvid) => Buffer;
  stopSvid: () => void = noop;
  stopEnd: () => void = noop;

  constructor(call: Stream, lease: SvidLease, response: (svid: IssuedSvid) => Buffer) {
    this.writer = createLatestWriter(call);
    this.lease = lease;
    this.response = response;
  }

  push(): void {
    this.writer.write(this.response(this.lease.current()));
  }

  close(): void {
    this.stopSvid();
    this.stopEnd();
    this.lease.release();
  }
}

function noop(): void {}

/** One open FetchX509Bundles stream. */
class BundleStream implements Pushable {
  private readonly writer: LatestWriter;
  private readonly response: () => Buffer;

  constructor(call: Stream, response: () => Buffer) {
    this.writer = createLatestWriter(call);
    this.response = response;
  }

  push(): void {
    this.writer.write(this.response());
  }
}

/** Builds the `SpiffeWorkloadAPI` implementation. */
export function createWorkloadHandlers(options: WorkloadHandlerOptions): UntypedServiceImplementation {
  const { resolver, store, anchors, responses, streams, calls } = options;
  const log = options.logger.child({ subsystem: 'workload_api' });
  const svidStreams = new Set<SvidStream>();
  const bundleStreams = new Set<BundleStream>();
  const pushes = createPushQueue<Pushable>({ batch: PUSH_BATCH, defer: options.defer });
  const svidResponse = (svid: IssuedSvid) => responses.x509Svid(svid, anchors.get());
  const bundlesResponse = () => responses.x509Bundles(anchors.get());
  // One subscription for every open stream, however many there are.
  anchors.subscribe(() => {
    for (const stream of svidStreams) pushes.add(stream);
    for (const stream of bundleStreams) pushes.add(stream);
  });

  /** Serves `lease` on `call` until the call ends. */
  function openSvidStream(call: Stream, lease: SvidLease): void {
    const stream = new SvidStream(call, lease, svidResponse);
    stream.stopSvid = lease.subscribe(() => pushes.add(stream));
    // Its SVID expired unrenewed (issuer unreachable or refusing): end, never push it expired.
    stream.stopEnd = lease.onEnd((reason) => {
      pushes.delete(stream);
      calls.endStream('FetchX509SVID', call, reason);
    });
    svidStreams.add(stream);
    streams.track(call, () => {
      svidStreams.delete(stream);
      pushes.delete(stream);
      stream.close();
    });
    if (!call.cancelled) stream.push();
  }

  function openBundleStream(call: Stream): void {
    const stream = new BundleStream(call, bundlesResponse);
    bundleStreams.add(stream);
    streams.track(call, () => {
      bundleStreams.delete(stream);
      pushes.delete(stream);
    });
    if (!call.cancelled) stream.push();
  }

  function unimplemented(method: string, message: string) {
    return (call: Stream | Unary, callback?: sendUnaryData<unknown>) => {
      try {
        // The header rule comes first for every method of the service (docs/workload-api.md).
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
      openSvidStream(call, await store.acquire(resolved, { signal }));
    }),
    FetchX509Bundles: calls.serverStreaming('FetchX509Bundles', async (call, signal) => {
      await resolver.resolve(call, signal);
      openBundleStream(call);
    }),
    ...options.jwt,
    FetchWITSVID: unimplemented('FetchWITSVID', 'fetching WIT-SVIDs is not implemented'),
    FetchWITBundles: unimplemented('FetchWITBundles', 'fetching WIT bundles is not implemented'),
  };
}
