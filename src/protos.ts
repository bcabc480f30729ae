/**
 * The one proto loader of agent, issuer and CLI: the Workload API, gRPC health, node service and
 * Linkerd identity definitions, read from `proto/` at run time (no generated code) with one set of
 * loader options, each once per process. A root file, so that the CLI's client commands load no agent code.
 *
 * `proto/` sits at the package root: one level up from this module in `src/` of a checkout, two
 * from `dist/src/` after a build. It is located on first use, not at import time.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

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

/** Field names as in the .proto, bytes as Buffers, enums as names, defaults filled in, `oneof` names set. */
const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true } as const;

/** Any service definition loaded here. */
export type AnyServiceDefinition = ServiceDefinition<Record<string, unknown>>;

let root: string | undefined;

/**
 * Absolute path of a file under `proto/`.
 * @throws TypeError when the package has no `proto/` directory (a broken install)
 */
function protoPath(relative: string): string {
  if (root === undefined) {
    for (const up of ['../', '../../']) {
      const candidate = fileURLToPath(new URL(`${up}proto/`, import.meta.url));
      if (existsSync(`${candidate}workload/workload.proto`)) root = candidate;
      if (root) break;
    }
    if (root === undefined) throw new TypeError('proto/workload/workload.proto not found next to the svid-agent package');
  }
  return `${root}${relative}`;
}

const loaded = new Map<string, AnyServiceDefinition>();

function load(file: string, service: string): AnyServiceDefinition {
  let definition = loaded.get(service);
  if (!definition) {
    definition = loadSync(protoPath(file), LOADER_OPTIONS)[service] as AnyServiceDefinition | undefined;
    if (!definition) throw new TypeError(`service ${service} not found in ${file}`);
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
  const unqualified = load('workload/workload.proto', WORKLOAD_API_SERVICE);
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
  return load('health/health.proto', HEALTH_SERVICE);
}

/** The `svidagent.node.v1.NodeIssuer` service definition (central issuer ↔ node agents). */
export function nodeIssuerDefinition(): AnyServiceDefinition {
  return load('node/node.proto', NODE_ISSUER_SERVICE);
}

/** The `io.linkerd.proxy.identity.Identity` service definition (Linkerd proxies ↔ central issuer). */
export function linkerdIdentityDefinition(): AnyServiceDefinition {
  return load('identity/identity.proto', LINKERD_IDENTITY_SERVICE);
}
