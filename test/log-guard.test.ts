import assert from 'node:assert/strict';
import { test } from 'node:test';
import { secretIn } from './support/log-guard.js';

test('the log guard recognises what must never be logged', () => {
  assert.equal(secretIn('{"msg":"x","k":"-----BEGIN EC PRIVATE KEY-----"}'), 'a PEM block');
  assert.equal(secretIn('BEGIN PRIVATE'), 'BEGIN PRIVATE');
  assert.equal(secretIn('token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.sig'), 'a JWT');
  assert.equal(secretIn('{"msg":"issued svid","spiffe_id":"spiffe://cluster.local/ns/a/sa/b"}'), undefined);
});
