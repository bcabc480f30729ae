/**
 * The socket directory rule: who may write where the socket lives (issue 15).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { unsafeDirectoryReason } from './socket-file.js';

const self = { uid: 1000, gid: 1000 };

test('a directory of the agent user or root, writable only by them, is safe', () => {
  assert.equal(unsafeDirectoryReason('/run/svid-agent', { uid: 0, gid: 0, mode: 0o40755 }, self, false), undefined);
  assert.equal(unsafeDirectoryReason('/home/a/.svid-agent', { uid: 1000, gid: 1000, mode: 0o40755 }, self, false), undefined);
  // Group-writable by the agent's own group (a user-private group under umask 002).
  assert.equal(unsafeDirectoryReason('/home/a/x', { uid: 1000, gid: 1000, mode: 0o40775 }, self, false), undefined);
});

test('another owner, other-writable or foreign-group-writable is refused, naming the fix', () => {
  assert.match(
    unsafeDirectoryReason('/tmp/x', { uid: 4242, gid: 4242, mode: 0o40755 }, self, false) ?? '',
    /^socket directory \/tmp\/x is owned by uid 4242, not by the agent's user \(uid 1000\) or root/,
  );
  assert.match(
    unsafeDirectoryReason('/tmp/x', { uid: 1000, gid: 1000, mode: 0o40777 }, self, false) ?? '',
    /is writable by other users \(mode 0777\).*chmod o-w \/tmp\/x/,
  );
  assert.match(unsafeDirectoryReason('/srv/x', { uid: 0, gid: 50, mode: 0o40775 }, self, false) ?? '', /writable by group 50.*chmod g-w/);
});

test('the sticky bit makes an other-writable directory above the socket safe, never the socket directory itself', () => {
  const tmp = { uid: 0, gid: 0, mode: 0o41777 };
  assert.equal(unsafeDirectoryReason('/tmp', tmp, self, true), undefined);
  assert.match(unsafeDirectoryReason('/tmp', tmp, self, false) ?? '', /^socket directory \/tmp is writable by other users \(mode 01777\)/);
  assert.match(
    unsafeDirectoryReason('/shared', { uid: 0, gid: 0, mode: 0o40777 }, self, true) ?? '',
    /^directory \/shared above the socket/,
  );
});
