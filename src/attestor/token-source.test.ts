import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createProcFixture, type ProcFixture } from '../../test/support/proc-fixture.js';
import { createProcReader } from './proc.js';
import { assertTokenPaths, DEFAULT_TOKEN_PATHS, findCallerToken, parseBearerAuthorization } from './token-source.js';

const PID = process.pid;
const LINKERD = DEFAULT_TOKEN_PATHS[0] as string;
const OTHER = '/var/run/secrets/tokens/other-token';

test('parseBearerAuthorization', () => {
  assert.equal(parseBearerAuthorization('Bearer abc.def.ghi'), 'abc.def.ghi');
  assert.equal(parseBearerAuthorization('bearer   abc '), 'abc');
  assert.equal(parseBearerAuthorization('BEARER abc'), 'abc');
  for (const bad of [undefined, '', 'Bearer', 'Bearer ', 'Basic abc', 'abc', 'Bearer a b']) {
    assert.equal(parseBearerAuthorization(bad), undefined, String(bad));
  }
});

test('assertTokenPaths', () => {
  assert.doesNotThrow(() => assertTokenPaths(DEFAULT_TOKEN_PATHS));
  assert.throws(() => assertTokenPaths([]), TypeError);
  assert.throws(() => assertTokenPaths(['relative']), TypeError);
  assert.throws(() => assertTokenPaths(['/a/../b']), TypeError);
});

describe('findCallerToken', () => {
  let fixture: ProcFixture;
  before(async () => {
    fixture = await createProcFixture();
  });
  after(() => fixture.cleanup());
  const find = (bearerToken: string | undefined, tokenPaths: readonly string[] = [LINKERD, OTHER]) =>
    findCallerToken({ pid: PID, bearerToken, tokenPaths, reader: createProcReader({ procRoot: fixture.root }) });

  test('a presented bearer token wins over the projected file', async () => {
    await fixture.addProcess(PID, { files: { [LINKERD]: 'from-file' } });
    assert.deepEqual(await find(' presented \n'), { token: 'presented', source: 'bearer' });
  });

  test('otherwise the first token path that holds a token, trimmed', async () => {
    await fixture.addProcess(PID, { files: { [LINKERD]: '  file-token\n', [OTHER]: 'other' } });
    assert.deepEqual(await find(undefined), { token: 'file-token', source: 'file', path: LINKERD });
    assert.deepEqual(await find(''), { token: 'file-token', source: 'file', path: LINKERD }, 'an empty bearer is no bearer');
  });

  test('missing and blank files are skipped', async () => {
    await fixture.addProcess(PID, { files: { [LINKERD]: ' \n', [OTHER]: 'other' } });
    assert.deepEqual(await find(undefined), { token: 'other', source: 'file', path: OTHER });
    await fixture.addProcess(PID, { files: { [OTHER]: 'other' } });
    assert.deepEqual(await find(undefined), { token: 'other', source: 'file', path: OTHER });
  });

  test('no token at all', async () => {
    await fixture.addProcess(PID);
    assert.equal(await find(undefined), undefined);
  });
});
