/**
 * Service definitions loaded from `proto/` at run time (resolved from this file, not the cwd).
 *
 * Response serializers pass a `Buffer` through unchanged: streams of one identity share one
 * response encoded once (`x509-response.ts`), instead of encoding it again for every stream.
 */
import { type GrpcObject, loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath } from '../proto-path.js';

const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true } as const;

type AnyDefinition = ServiceDefinition<Record<string, unknown>>;

function serviceOf(pkg: GrpcObject, name: string): AnyDefinition {
  let node: unknown = pkg;
  for (const part of name.split('.')) node = (node as Record<string, unknown>)[part];
  const service = (node as { service?: AnyDefinition } | undefined)?.service;
  if (!service) throw new TypeError(`service ${name} not found in proto definitions`);
  return service;
}

/** Makes every response serializer accept an already-encoded `Buffer`. */
function withPassThrough(definition: AnyDefinition): AnyDefinition {
  const out: Record<string, unknown> = {};
  for (const [method, def] of Object.entries(definition)) {
    const encode = def.responseSerialize;
    out[method] = { ...def, responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : encode(value)) };
  }
  return out as AnyDefinition;
}

export interface LoadedServices {
  /** `SpiffeWorkloadAPI` (no package). */
  readonly workload: AnyDefinition;
  /** `grpc.health.v1.Health`. */
  readonly health: AnyDefinition;
  /** Encodes a response message of a workload method, once, for sharing between streams. */
  encodeWorkloadResponse(method: string, message: unknown): Buffer;
}

let cached: LoadedServices | undefined;

/** Loads (once per process) the Workload API and health service definitions. */
export function loadServices(): LoadedServices {
  if (cached) return cached;
  const workloadPkg = loadPackageDefinition(loadSync(protoPath('workload/workload.proto'), LOADER_OPTIONS));
  const healthPkg = loadPackageDefinition(loadSync(protoPath('health/health.proto'), LOADER_OPTIONS));
  const workloadRaw = serviceOf(workloadPkg, 'SpiffeWorkloadAPI');
  cached = {
    workload: withPassThrough(workloadRaw),
    health: serviceOf(healthPkg, 'grpc.health.v1.Health'),
    encodeWorkloadResponse(method, message) {
      const def = workloadRaw[method];
      if (!def) throw new TypeError(`unknown workload method ${method}`);
      return def.responseSerialize(message);
    },
  };
  return cached;
}
