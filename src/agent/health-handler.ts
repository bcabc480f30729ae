/**
 * `grpc.health.v1.Health` on the Workload API socket (docs/workload-api.md), without the security header.
 * The agent is SERVING once it is ready (issuer loaded, socket listening); `''` and the Workload
 * API's two service names are the known ones.
 */
import {
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { QUALIFIED_WORKLOAD_API_SERVICE, WORKLOAD_API_SERVICE } from '../protos.js';
import type { Receiver } from '../value-channel.js';
import type { StreamRegistry } from './stream-registry.js';

const KNOWN_SERVICES = new Set(['', WORKLOAD_API_SERVICE, QUALIFIED_WORKLOAD_API_SERVICE]);

type ServingStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export function createHealthHandlers(ready: Receiver<boolean>, streams: StreamRegistry): UntypedServiceImplementation {
  const statusOf = (service: string): ServingStatus => {
    if (!KNOWN_SERVICES.has(service)) return 'SERVICE_UNKNOWN';
    return ready.get() ? 'SERVING' : 'NOT_SERVING';
  };
  return {
    Check(call: ServerUnaryCall<{ service?: string }, unknown>, callback: sendUnaryData<unknown>) {
      const service = call.request?.service ?? '';
      const st = statusOf(service);
      if (st === 'SERVICE_UNKNOWN') callback({ code: status.NOT_FOUND, details: `unknown service ${service}` });
      else callback(null, { status: st });
    },
    Watch(call: ServerWritableStream<{ service?: string }, unknown>) {
      const service = call.request?.service ?? '';
      let last: ServingStatus | undefined;
      const push = () => {
        const st = statusOf(service);
        if (st !== last) call.write({ status: st });
        last = st;
      };
      streams.track(call, ready.subscribe(push));
      push();
    },
  };
}
