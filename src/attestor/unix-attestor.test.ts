import assert from 'node:assert/strict';
import { test } from 'node:test';
import { accountNameFor, createUnixAttestor, userNameOf } from './unix-attestor.js';

const passwd = [
  'root:x:0:0:root:/root:/bin/bash',
  'alice:x:1000:1000::/home/alice:/bin/sh',
  'Bob_Smith:x:1001:1001::/home/bob:/bin/sh',
  '',
].join('\n');
const caller = (uid: number) => ({ peer: { pid: 1, uid, gid: uid }, startTime: '1', connectionId: 'uds:1' });

test('maps a uid to its user name, or uid-<n> when the name is not a DNS-1123 label', () => {
  assert.equal(userNameOf(passwd, 1000), 'alice');
  assert.equal(userNameOf(passwd, 4242), undefined);
  assert.equal(accountNameFor(1000, 'alice'), 'alice');
  assert.equal(accountNameFor(1001, 'Bob_Smith'), 'uid-1001');
  assert.equal(accountNameFor(4242, undefined), 'uid-4242');
  // Issue 15: a user named like another uid's fallback name does not get that identity.
  assert.equal(accountNameFor(1000, 'uid-4242'), 'uid-1000');
  assert.equal(accountNameFor(4242, 'uid-4242'), 'uid-4242');
  assert.equal(accountNameFor(1002, 'uid-x'), 'uid-x');
});

test('attests into the local namespace', async () => {
  const attestor = createUnixAttestor({ readFile: async () => Buffer.from(passwd) });
  const a = await attestor.attest({ caller: caller(0) });
  assert.deepEqual(a, { account: { type: 'serviceaccount', namespace: 'local', name: 'root' }, attestor: 'unix' });
  const b = await attestor.attest({ caller: caller(1001) });
  assert.equal(b.account.name, 'uid-1001');
});

test('a user named uid-4242 and the unnamed uid 4242 get different identities (issue 15)', async () => {
  const attestor = createUnixAttestor({ readFile: async () => Buffer.from(`${passwd}uid-4242:x:1003:1003::/home/x:/bin/sh\n`) });
  const impostor = await attestor.attest({ caller: caller(1003) });
  const real = await attestor.attest({ caller: caller(4242) });
  assert.equal(impostor.account.name, 'uid-1003');
  assert.equal(real.account.name, 'uid-4242');
});

test('a missing passwd file still yields uid-<n>; other read errors are retryable', async () => {
  const enoent = Object.assign(new Error('nope'), { code: 'ENOENT' });
  const missing = createUnixAttestor({ readFile: async () => Promise.reject(enoent) });
  assert.equal((await missing.attest({ caller: caller(7) })).account.name, 'uid-7');
  const eio = Object.assign(new Error('io'), { code: 'EIO' });
  const broken = createUnixAttestor({ readFile: async () => Promise.reject(eio) });
  await assert.rejects(broken.attest({ caller: caller(7) }), { code: 'ATTESTATION_UNAVAILABLE' });
});
