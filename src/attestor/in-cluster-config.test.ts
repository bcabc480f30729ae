import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isAgentError } from '../errors.js';
import { IN_CLUSTER_REREAD_MS, loadInClusterConfig, SERVICE_ACCOUNT_DIR } from './in-cluster-config.js';

const ENV = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
const TOKEN = `/pod${SERVICE_ACCOUNT_DIR}/token`;
const CA = `/pod${SERVICE_ACCOUNT_DIR}/ca.crt`;

/** Files in memory, with a count of reads per path and an optional failure. */
function memoryFiles(initial: Record<string, string>) {
  const files = { ...initial };
  const reads: Record<string, number> = {};
  let failing = false;
  return {
    files,
    reads,
    fail(on: boolean) {
      failing = on;
    },
    async readFile(path: string): Promise<string> {
      reads[path] = (reads[path] ?? 0) + 1;
      const text = files[path];
      if (failing || text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
  };
}

function clockAt(start: number) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

describe('loadInClusterConfig', () => {
  test('server from the env (IPv6 in brackets), CA and bearer token from the service account dir', async () => {
    const fs = memoryFiles({ [TOKEN]: 'tok-1\n', [CA]: 'CA-1' });
    const config = await loadInClusterConfig({ env: ENV, root: '/pod', readFile: fs.readFile });
    assert.equal(config.server, 'https://10.96.0.1:443');
    assert.deepEqual(await config.target(), { tls: { ca: 'CA-1' }, headers: { authorization: 'Bearer tok-1' } });
    const v6 = await loadInClusterConfig({ env: { ...ENV, KUBERNETES_SERVICE_HOST: 'fd00::1' }, root: '/pod', readFile: fs.readFile });
    assert.equal(v6.server, 'https://[fd00::1]:443');
  });

  test('the rotating token (and the CA) are read again once a minute old, not before', async () => {
    const fs = memoryFiles({ [TOKEN]: 'tok-1', [CA]: 'CA-1' });
    const clock = clockAt(1_000_000);
    const config = await loadInClusterConfig({ env: ENV, root: '/pod', readFile: fs.readFile, clock });
    fs.files[TOKEN] = 'tok-2';
    fs.files[CA] = 'CA-2';
    clock.advance(IN_CLUSTER_REREAD_MS - 1);
    assert.deepEqual(await config.target(), { tls: { ca: 'CA-1' }, headers: { authorization: 'Bearer tok-1' } });
    clock.advance(1);
    const [a, b] = await Promise.all([config.target(), config.target()]);
    assert.deepEqual(a, { tls: { ca: 'CA-2' }, headers: { authorization: 'Bearer tok-2' } });
    assert.deepEqual(b, a);
    assert.equal(fs.reads[TOKEN], 2, 'one read at load, one shared re-read');
  });

  test('after a 401 the next request reads the token again', async () => {
    const fs = memoryFiles({ [TOKEN]: 'tok-1', [CA]: 'CA-1' });
    const config = await loadInClusterConfig({ env: ENV, root: '/pod', readFile: fs.readFile, clock: clockAt(0) });
    fs.files[TOKEN] = 'tok-2';
    assert.equal((await config.target()).headers.authorization, 'Bearer tok-1');
    config.unauthorized?.();
    assert.equal((await config.target()).headers.authorization, 'Bearer tok-2');
    assert.equal((await config.target()).headers.authorization, 'Bearer tok-2');
    assert.equal(fs.reads[TOKEN], 2);
  });

  test('a failed re-read keeps the last credentials and is tried again at the next request', async () => {
    const fs = memoryFiles({ [TOKEN]: 'tok-1', [CA]: 'CA-1' });
    const clock = clockAt(0);
    const config = await loadInClusterConfig({ env: ENV, root: '/pod', readFile: fs.readFile, clock });
    clock.advance(IN_CLUSTER_REREAD_MS);
    fs.fail(true);
    assert.equal((await config.target()).headers.authorization, 'Bearer tok-1');
    fs.fail(false);
    fs.files[TOKEN] = 'tok-2';
    assert.equal((await config.target()).headers.authorization, 'Bearer tok-2');
  });

  test('missing env, token or CA, or an empty token, is CONFIG_INVALID naming what is missing', async () => {
    const fs = memoryFiles({ [TOKEN]: 'tok', [CA]: 'CA' });
    await assert.rejects(
      loadInClusterConfig({ env: {}, root: '/pod', readFile: fs.readFile }),
      (err: unknown) => isAgentError(err, 'CONFIG_INVALID') && /KUBERNETES_SERVICE_HOST is unset/.test(err.message),
    );
    for (const [files, named] of [
      [{ [CA]: 'CA' }, TOKEN],
      [{ [TOKEN]: 'tok' }, CA],
      [{ [TOKEN]: ' \n', [CA]: 'CA' }, TOKEN],
    ] as const) {
      await assert.rejects(
        loadInClusterConfig({ env: ENV, root: '/pod', readFile: memoryFiles(files).readFile }),
        (err: unknown) => isAgentError(err, 'CONFIG_INVALID') && err.message.includes(named),
      );
    }
  });
});
