import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestCa, createTestIntermediate, TEST_NOW } from '../../test/support/test-ca.js';
import { loadTestCredentials } from '../../test/support/test-credentials.js';
import { createValueChannel } from '../value-channel.js';
import type { IssuerCredentials } from './credentials.js';
import { createRenewalKeys } from './renewal-keys.js';
import { ticketKeyFor } from './renewal-ticket.js';

test('after an issuer swap the previous key is accepted for the grace period, then not', async () => {
  const ca = await createTestCa();
  const first = (await loadTestCredentials(ca, TEST_NOW)).issuer;
  const second = (await loadTestCredentials({ ...ca, intermediate: await createTestIntermediate({ parent: ca.root }) }, TEST_NOW)).issuer;
  let now = TEST_NOW;
  const channel = createValueChannel<IssuerCredentials | undefined>(first);
  const keys = createRenewalKeys({ issuer: channel.receiver, clock: { now: () => now }, previousKeyGraceMs: 1000 });
  assert.deepEqual(keys.signing()?.key, ticketKeyFor(first.privateKey));
  assert.equal(keys.verifying().length, 1);
  channel.sink.set(second);
  assert.deepEqual(keys.signing()?.key, ticketKeyFor(second.privateKey));
  assert.deepEqual(
    keys.verifying().map((k) => k.issuer),
    [second.certificate, first.certificate],
  );
  now += 1000;
  assert.deepEqual(
    keys.verifying().map((k) => k.issuer),
    [second.certificate],
  );
  channel.sink.set(undefined);
  assert.equal(keys.signing(), undefined);
  keys.close();
});
