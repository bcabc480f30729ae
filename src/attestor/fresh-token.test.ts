import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createProcFixture, type ProcFixture } from '../../test/support/proc-fixture.js';
import { createFreshTokenReader } from './fresh-token.js';
import { createProcReader } from './proc.js';
import type { Attestation } from './types.js';

const TOKEN_PATH = '/var/run/secrets/tokens/linkerd-identity-token';
const PID = process.pid;
let fixture: ProcFixture;
let startTime: string;

before(async () => {
  fixture = await createProcFixture();
  await fixture.addProcess(PID, { files: { [TOKEN_PATH]: 'token-1\n' } });
  startTime = await createProcReader({ procRoot: fixture.root }).readStartTime(PID);
});
after(() => fixture.cleanup());

const attestation = (overrides: Partial<Attestation> = {}): Attestation => ({
  account: { type: 'serviceaccount', namespace: 'emojivoto', name: 'web' },
  attestor: 'k8s',
  podUid: 'pod-1',
  token: 'token-1',
  tokenSource: 'file',
  caller: { peer: { pid: PID, uid: 0, gid: 0 }, startTime, connectionId: 'c1' },
  ...overrides,
});

const reader = () => createFreshTokenReader({ proc: createProcReader({ procRoot: fixture.root }), tokenPaths: [TOKEN_PATH] });

test("reads the caller's token file again: the kubelet's rotated token, not the one it was attested with", async () => {
  await fixture.writeFileInRoot(PID, TOKEN_PATH, 'token-2\n');
  assert.equal(await reader()(attestation()), 'token-2');
});

test('a pid now held by another process (start time changed) lends nothing', async () => {
  await fixture.setStartTime(PID, '1');
  try {
    assert.equal(await reader()(attestation()), undefined);
  } finally {
    await fixture.setStartTime(PID, startTime);
  }
});

test('a process that is gone, or an attestation naming none, has nothing', async () => {
  assert.equal(
    await reader()(attestation({ caller: { peer: { pid: 2 ** 22 + 7, uid: 0, gid: 0 }, startTime, connectionId: 'c' } })),
    undefined,
  );
  const { caller: _omitted, ...withoutCaller } = attestation();
  assert.equal(await reader()(withoutCaller), undefined);
});

test('with no token file, a token presented on the wire stays the live caller’s; a vanished file gives none', async () => {
  const noFiles = createFreshTokenReader({ proc: createProcReader({ procRoot: fixture.root }), tokenPaths: ['/no/such/token'] });
  assert.equal(await noFiles(attestation({ tokenSource: 'bearer', token: 'presented' })), 'presented');
  assert.equal(await noFiles(attestation()), undefined);
});
