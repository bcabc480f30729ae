/**
 * src/protos.json is generated from proto/*.proto (`npm run protos`) and committed, so that no
 * process parses a .proto file at start. These tests fail when it is stale, and check that the
 * definitions src/protos.ts builds from it behave as @grpc/proto-loader's `loadSync` of the .proto
 * files with the options the agent used before (same paths, streaming, bytes on the wire, decoded objects).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadSync } from '@grpc/proto-loader';
import { PROTO_FILES, PROTOS_JSON, protoDescriptorJson } from '../scripts/protos-json.js';
import {
  type AnyServiceDefinition,
  HEALTH_SERVICE,
  healthDefinition,
  LINKERD_IDENTITY_SERVICE,
  linkerdIdentityDefinition,
  NODE_ISSUER_SERVICE,
  nodeIssuerDefinition,
  WORKLOAD_API_SERVICE,
  workloadApiDefinition,
} from '../src/protos.js';

const PROTO = fileURLToPath(new URL('../proto/', import.meta.url));

test('src/protos.json is what the .proto files give (run `npm run protos` after changing them)', async () => {
  const committed: unknown = JSON.parse(await readFile(PROTOS_JSON, 'utf8'));
  assert.deepEqual(committed, JSON.parse(JSON.stringify(protoDescriptorJson())));
});

describe('the definitions match proto-loader on the .proto files', () => {
  const options = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
  const reference = (file: string, service: string) => loadSync(`${PROTO}${file}`, options)[service] as AnyServiceDefinition;
  const cases: Array<[string, string, () => AnyServiceDefinition]> = [
    [PROTO_FILES[0], WORKLOAD_API_SERVICE, workloadApiDefinition],
    [PROTO_FILES[1], HEALTH_SERVICE, healthDefinition],
    [PROTO_FILES[2], NODE_ISSUER_SERVICE, nodeIssuerDefinition],
    [PROTO_FILES[3], LINKERD_IDENTITY_SERVICE, linkerdIdentityDefinition],
  ];
  for (const [file, service, ours] of cases) {
    test(service, () => {
      const theirs = reference(file, service);
      const mine = ours();
      assert.deepEqual(Object.keys(mine), Object.keys(theirs));
      for (const [name, method] of Object.entries(mine)) {
        const other = theirs[name];
        assert.ok(other);
        const shape = (m: typeof method) => ({ path: m.path, requestStream: m.requestStream, responseStream: m.responseStream });
        assert.deepEqual(shape(method), shape(other), name);
        // Every field at its default: decoding empty bytes fills in defaults, oneofs and enums alike.
        const empty = Buffer.alloc(0);
        assert.deepEqual(method.requestDeserialize(empty), other.requestDeserialize(empty), `${name} request`);
        assert.deepEqual(method.responseDeserialize(empty), other.responseDeserialize(empty), `${name} response`);
        // A decoded message encodes to the same bytes, and its bytes decode to the same object.
        const request = other.requestDeserialize(empty);
        assert.deepEqual(method.requestSerialize(request), other.requestSerialize(request), `${name} request bytes`);
        assert.throws(() => method.requestSerialize([] as never), /expected object/);
      }
    });
  }

  test('a message with bytes, int64, a oneof, a Struct and a Timestamp decodes alike', () => {
    const workload = reference(PROTO_FILES[0], WORKLOAD_API_SERVICE);
    const validate = workload.ValidateJWTSVID;
    assert.ok(validate);
    const claims = { fields: { sub: { stringValue: 'spiffe://td/x' }, exp: { numberValue: 5 }, ok: { boolValue: true } } };
    const bytes = validate.responseSerialize({ spiffe_id: 'spiffe://td/x', claims });
    assert.deepEqual(workloadApiDefinition().ValidateJWTSVID?.responseDeserialize(bytes), validate.responseDeserialize(bytes));
    const certify = reference(PROTO_FILES[3], LINKERD_IDENTITY_SERVICE).Certify;
    assert.ok(certify);
    const response = {
      leaf_certificate: Buffer.from([2]),
      intermediate_certificates: [Buffer.from([3])],
      valid_until: { seconds: 1_700_000_000, nanos: 5 },
    };
    const wire = certify.responseSerialize(response);
    assert.deepEqual(linkerdIdentityDefinition().Certify?.responseSerialize(response), wire);
    assert.deepEqual(linkerdIdentityDefinition().Certify?.responseDeserialize(wire), certify.responseDeserialize(wire));
  });
});
