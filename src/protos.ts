/**
 * The one proto loader of agent, issuer and CLI: the Workload API, gRPC health, node service and
 * Linkerd identity definitions, built from `protos.json` (the JSON descriptor of `proto/*.proto`,
 * made by `npm run protos` and checked against the .proto files by test/protos-json.test.ts), each
 * once per process. A root file, so that the CLI's client commands load no agent code.
 *
 * No .proto file is parsed at run time, and the definitions carry only what grpc-js uses (path,
 * streaming, serializers): @grpc/proto-loader also builds a descriptor of every message: with the
 * .proto parse, 30–45 ms of every start (docs/performance.md). The messages are converted exactly as
 * proto-loader converts them with the options below (`toObject` / `fromObject` of protobufjs).
 */
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs/light.js';
import descriptors from './protos.json' with { type: 'json' };

/** The Workload API's service name, as every client calls it: `/SpiffeWorkloadAPI/<Method>`. */
export const WORKLOAD_API_SERVICE = 'SpiffeWorkloadAPI';
/**
 * The same service under a package-qualified name, which Linkerd proxy releases v2.329–v2.330
 * called (`/spiffe.workloadapi.SpiffeWorkloadAPI/<Method>`, linkerd2 issue 14730).
 */
export const QUALIFIED_WORKLOAD_API_SERVICE = 'spiffe.workloadapi.SpiffeWorkloadAPI';
/** The gRPC health service. */
export const HEALTH_SERVICE = 'grpc.health.v1.Health';
/** The central issuer's node service (`proto/node/node.proto`): `/svidagent.node.v1.NodeIssuer/<Method>`. */
export const NODE_ISSUER_SERVICE = 'svidagent.node.v1.NodeIssuer';
/** Linkerd's identity service (`proto/identity/identity.proto`): `/io.linkerd.proxy.identity.Identity/Certify`. */
export const LINKERD_IDENTITY_SERVICE = 'io.linkerd.proxy.identity.Identity';

/** Bytes as Buffers, 64-bit integers as decimal strings, enums as names, defaults filled in, `oneof` names set. */
const CONVERSION: protobuf.IConversionOptions = { longs: String, enums: String, defaults: true, oneofs: true };

/** Any service definition loaded here. */
export type AnyServiceDefinition = ServiceDefinition<Record<string, unknown>>;

let root: protobuf.Root | undefined;

function protoRoot(): protobuf.Root {
  if (!root) {
    root = protobuf.Root.fromJSON(descriptors as protobuf.INamespace);
    root.resolveAll();
  }
  return root;
}

/** Encodes a message given as a plain object (proto field names), as proto-loader does. */
function serializer(type: protobuf.Type): (value: unknown) => Buffer {
  return (value) => {
    if (Array.isArray(value))
      throw new Error(`Failed to serialize message: expected object with ${type.name} structure, got array instead`);
    const bytes = type.encode(type.fromObject(value as Record<string, unknown>)).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Decodes a message to a plain object with {@link CONVERSION}, as proto-loader does. */
function deserializer(type: protobuf.Type): (bytes: Buffer) => unknown {
  return (bytes) => type.toObject(type.decode(bytes), CONVERSION);
}

function serviceDefinition(service: string): AnyServiceDefinition {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const method of protoRoot().lookupService(service).methodsArray) {
    const request = method.resolvedRequestType as protobuf.Type;
    const response = method.resolvedResponseType as protobuf.Type;
    definition[method.name] = {
      path: `/${service}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
    };
  }
  return definition as AnyServiceDefinition;
}

const loaded = new Map<string, AnyServiceDefinition>();

function load(service: string): AnyServiceDefinition {
  let definition = loaded.get(service);
  if (!definition) {
    definition = serviceDefinition(service);
    loaded.set(service, definition);
  }
  return definition;
}

/**
 * The `SpiffeWorkloadAPI` service definition: under its own name (default), or the same methods
 * under {@link QUALIFIED_WORKLOAD_API_SERVICE}.
 */
export function workloadApiDefinition(
  name: typeof WORKLOAD_API_SERVICE | typeof QUALIFIED_WORKLOAD_API_SERVICE = WORKLOAD_API_SERVICE,
): AnyServiceDefinition {
  const unqualified = load(WORKLOAD_API_SERVICE);
  if (name === WORKLOAD_API_SERVICE) return unqualified;
  let qualified = loaded.get(name);
  if (!qualified) {
    qualified = Object.fromEntries(
      Object.entries(unqualified).map(([method, def]) => [method, { ...def, path: `/${name}/${method}` }]),
    ) as AnyServiceDefinition;
    loaded.set(name, qualified);
  }
  return qualified;
}

/** The `grpc.health.v1.Health` service definition. */
export function healthDefinition(): AnyServiceDefinition {
  return load(HEALTH_SERVICE);
}

/** The `svidagent.node.v1.NodeIssuer` service definition (central issuer ↔ node agents). */
export function nodeIssuerDefinition(): AnyServiceDefinition {
  return load(NODE_ISSUER_SERVICE);
}

/** The `io.linkerd.proxy.identity.Identity` service definition (Linkerd proxies ↔ central issuer). */
export function linkerdIdentityDefinition(): AnyServiceDefinition {
  return load(LINKERD_IDENTITY_SERVICE);
}
