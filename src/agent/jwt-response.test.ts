import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAgentError } from '../errors.js';
import { createJwtKeySet, jwtSigningKeyFrom, newKeyPair } from '../issuer/index.js';
import { agentServices } from './grpc-services.js';
import { claimsToStruct, createJwtBundleResponses, jwtKeyLookup } from './jwt-response.js';

describe('claimsToStruct', () => {
  test('every JSON kind, in the shape protos.ts encodes, surviving the wire', () => {
    const claims = { sub: 's', aud: ['a'], exp: 1.5, ok: true, none: null, obj: { list: [1, 'x', false, { deep: null }] } };
    const struct = claimsToStruct(claims);
    assert.deepEqual(struct.fields.aud, { listValue: { values: [{ stringValue: 'a' }] } });
    assert.deepEqual(struct.fields.none, { nullValue: 'NULL_VALUE' });
    const services = agentServices();
    const bytes = services.encodeWorkloadResponse('ValidateJWTSVID', { spiffe_id: 's', claims: struct });
    const decoded = services.workload.ValidateJWTSVID?.responseDeserialize(bytes) as {
      claims: { fields: Record<string, { kind: string }> };
    };
    assert.deepEqual(Object.keys(decoded.claims.fields), Object.keys(claims));
    assert.equal(decoded.claims.fields.obj?.kind, 'structValue');
  });

  test('claims nested deeper than 32 levels are refused, not a stack overflow', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 10_000; i++) deep = [deep];
    assert.throws(
      () => claimsToStruct({ deep }),
      (err: unknown) => isAgentError(err, 'JWT_SVID_INVALID') && err.message === 'token claims are nested too deeply',
    );
  });
});

describe('createJwtBundleResponses', () => {
  test('one Buffer per key set, and the same Buffer for a new set with the same keys', async () => {
    const key = await jwtSigningKeyFrom(newKeyPair('ec', { namedCurve: 'P-256' }).privateKey);
    const other = await jwtSigningKeyFrom(newKeyPair('ec', { namedCurve: 'P-256' }).privateKey);
    let encodes = 0;
    const responses = createJwtBundleResponses((method, message) => {
      encodes++;
      return agentServices().encodeWorkloadResponse(method, message);
    }, 'cluster.local');
    const set = createJwtKeySet(key);
    const first = responses(set);
    assert.equal(responses(set), first);
    assert.equal(responses(createJwtKeySet(key)), first);
    assert.equal(encodes, 1);
    assert.notEqual(responses(createJwtKeySet(other, [key])), first);
    assert.equal(encodes, 2);
  });
});

describe('jwtKeyLookup', () => {
  test('our trust domain only, every published key by kid', async () => {
    const key = await jwtSigningKeyFrom(newKeyPair('ec', { namedCurve: 'P-256' }).privateKey);
    const lookup = jwtKeyLookup('cluster.local', createJwtKeySet(key));
    assert.equal(lookup.keysFor('cluster.local')?.get(key.kid), key);
    assert.equal(lookup.keysFor('other.org'), undefined);
  });
});
