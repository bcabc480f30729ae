import assert from 'node:assert/strict';
import { test } from 'node:test';
import { status } from '@grpc/grpc-js';
import { AgentError } from '../errors.js';
import { NodeServiceError } from './node-service-error.js';
import { ISSUER_UNAVAILABLE, NO_IDENTITY_ISSUED, workloadStatus } from './status.js';

/** Every status a gRPC call can end with, OK aside. */
const ALL = Object.values(status).filter((v): v is status => typeof v === 'number' && v !== status.OK);

test('a central-issuer failure reaches a workload only as PERMISSION_DENIED or UNAVAILABLE, never INVALID_ARGUMENT', () => {
  for (const method of ['ReviewWorkload', 'SignX509SVID', 'WatchBundles']) {
    for (const code of ALL) {
      const seen = workloadStatus(new NodeServiceError(method, code, 'details from the issuer'));
      const expected =
        code === status.PERMISSION_DENIED
          ? { code: status.PERMISSION_DENIED, details: NO_IDENTITY_ISSUED }
          : { code: status.UNAVAILABLE, details: ISSUER_UNAVAILABLE };
      assert.deepEqual(seen, expected, `${method} ${status[code]}`);
    }
  }
});

test('an issuer that mints no JWT-SVIDs is UNIMPLEMENTED for FetchJWTSVID, as a disabled profile', () => {
  for (const code of ALL) {
    const seen = workloadStatus(new NodeServiceError('MintJWTSVID', code, ''));
    assert.notEqual(seen.code, status.INVALID_ARGUMENT);
  }
  assert.equal(workloadStatus(new NodeServiceError('MintJWTSVID', status.UNIMPLEMENTED, '')).code, status.UNIMPLEMENTED);
});

test("the issuer's details stay in the log: the wire message is fixed", () => {
  const seen = workloadStatus(new NodeServiceError('SignX509SVID', status.PERMISSION_DENIED, 'token bound to node-b'));
  assert.equal(seen.details, NO_IDENTITY_ISSUED);
  assert.equal(workloadStatus(new AgentError('ISSUER_CALL_FAILED', 'odd reply')).code, status.UNAVAILABLE);
});
