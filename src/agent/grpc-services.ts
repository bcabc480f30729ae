/**
 * The services the agent serves, from the one proto loader (`src/protos.ts`), with response
 * serializers that pass a `Buffer` through unchanged: streams of one identity share one response
 * encoded once (`x509-response.ts`), instead of encoding it again for every stream. The JWT
 * requests' audiences are checked for strict UTF-8 as they are decoded (`utf8-fields.ts`).
 */
import {
  type AnyServiceDefinition,
  healthDefinition,
  QUALIFIED_WORKLOAD_API_SERVICE,
  WORKLOAD_API_SERVICE,
  workloadApiDefinition,
} from '../protos.js';
import { markingInvalidUtf8 } from './utf8-fields.js';

/** The request fields checked for strict UTF-8, by method: `audience` is field 1 of both requests. */
const STRICT_UTF8_FIELDS: Readonly<Record<string, ReadonlyMap<number, string>>> = {
  FetchJWTSVID: new Map([[1, 'audience']]),
  ValidateJWTSVID: new Map([[1, 'audience']]),
};

/** Makes every response serializer accept an already-encoded `Buffer`. */
function withPassThrough(definition: AnyServiceDefinition): AnyServiceDefinition {
  const out: Record<string, unknown> = {};
  for (const [method, def] of Object.entries(definition)) {
    const encode = def.responseSerialize;
    const strict = STRICT_UTF8_FIELDS[method];
    out[method] = {
      ...def,
      responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : encode(value)),
      ...(strict ? { requestDeserialize: markingInvalidUtf8(def.requestDeserialize, strict) } : {}),
    };
  }
  return out as AnyServiceDefinition;
}

export interface AgentServices {
  /** `SpiffeWorkloadAPI`, the primary name every client uses. */
  readonly workload: AnyServiceDefinition;
  /** The same service as `spiffe.workloadapi.SpiffeWorkloadAPI`, for the proxy releases that call that. */
  readonly qualifiedWorkload: AnyServiceDefinition;
  /** `grpc.health.v1.Health`. */
  readonly health: AnyServiceDefinition;
  /** Encodes a response message of a workload method, once, for sharing between streams. */
  encodeWorkloadResponse(method: string, message: unknown): Buffer;
}

/** The agent's service definitions. */
export function agentServices(): AgentServices {
  const workload = workloadApiDefinition(WORKLOAD_API_SERVICE);
  return {
    workload: withPassThrough(workload),
    qualifiedWorkload: withPassThrough(workloadApiDefinition(QUALIFIED_WORKLOAD_API_SERVICE)),
    health: healthDefinition(),
    encodeWorkloadResponse(method, message) {
      const def = workload[method];
      if (!def) throw new TypeError(`unknown workload method ${method}`);
      return def.responseSerialize(message);
    },
  };
}
