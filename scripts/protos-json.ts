/**
 * `npm run protos`: writes src/protos.json, the protobufjs JSON descriptor of every service the
 * agent, the issuer and the CLI speak (proto/*.proto and the google/protobuf types they import),
 * so that no process parses a .proto file at start (docs/performance.md, start-up).
 * test/protos-json.test.ts fails when the committed file differs from what the .proto files give.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The .proto files, relative to `proto/`. */
export const PROTO_FILES = ['workload/workload.proto', 'health/health.proto', 'node/node.proto', 'identity/identity.proto'] as const;

/** Where the descriptor is committed. */
export const PROTOS_JSON = `${ROOT}src/protos.json`;

/** The JSON descriptor of {@link PROTO_FILES}, field names as written in the .proto (`keepCase`). */
export function protoDescriptorJson(): protobuf.INamespace {
  const root = new protobuf.Root();
  root.loadSync(
    PROTO_FILES.map((file) => `${ROOT}proto/${file}`),
    { keepCase: true },
  );
  root.resolveAll();
  return root.toJSON();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(PROTOS_JSON, `${JSON.stringify(protoDescriptorJson(), null, 2)}\n`);
}
