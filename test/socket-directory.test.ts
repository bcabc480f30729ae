/**
 * A safe socket directory (issue 15): `run` refuses one another user could write to, and a socket
 * replaced behind the agent's back turns readiness false and is left alone at shutdown.
 */
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, rename, rm } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { makeTestDir, writeCredentials } from './support/agent-harness.js';
import { runCli, startCli } from './support/cli-process.js';

const needsRoot = process.getuid?.() === 0 ? false : 'needs root to give a directory to user nobody';
const NOBODY = 65534;

async function runFlags(dir: string, socket: string, ...extra: string[]): Promise<string[]> {
  const files = await writeCredentials(dir);
  return [
    'run',
    '--socket',
    socket,
    '--trust-anchors',
    files.trustAnchors,
    '--issuer-dir',
    files.issuerDir,
    '--attestor',
    'unix',
    ...extra,
  ];
}

test('run refuses a socket directory another user owns (exit 2, says why)', { skip: needsRoot }, async () => {
  const dir = await makeTestDir();
  try {
    const theirs = join(dir, 'theirs');
    await mkdir(theirs, { mode: 0o755 });
    await chown(theirs, NOBODY, NOBODY);
    const r = await runCli([...(await runFlags(dir, join(theirs, 'agent.sock'))), '--health-addr', '']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`socket directory ${theirs} is owned by uid ${NOBODY}, not by the agent's user \\(uid 0\\) or root`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('run refuses a socket directory, or one above it, that other users may write', async () => {
  const dir = await makeTestDir();
  try {
    const open = join(dir, 'open');
    await mkdir(join(open, 'sub'), { recursive: true, mode: 0o755 });
    await chmod(open, 0o777);
    const direct = await runCli([...(await runFlags(dir, join(open, 'agent.sock'))), '--health-addr', '']);
    assert.equal(direct.code, 2, direct.stderr);
    assert.match(direct.stderr, /socket directory \S+\/open is writable by other users \(mode 0777\).*chmod o-w/);
    const above = await runCli([...(await runFlags(dir, join(open, 'sub', 'agent.sock'))), '--health-addr', '']);
    assert.equal(above.code, 2, above.stderr);
    assert.match(above.stderr, /directory \S+\/open above the socket is writable by other users/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a socket replaced by another process: /ready turns 503 and shutdown leaves the other file alone', async () => {
  const dir = await makeTestDir();
  const socket = join(dir, 'agent.sock');
  const agent = startCli(await runFlags(dir, socket, '--health-addr', '127.0.0.1:0'));
  const impostor = net.createServer((c) => c.end('impostor'));
  try {
    await agent.waitFor(({ stderr }) => stderr.includes('listening on workload api socket'), 'the socket');
    await agent.waitFor(({ stderr }) => /"url":"http:[^"]+"/.test(stderr), 'the health listener');
    const url = /"url":"(http:[^"]+)"/.exec(agent.stderr())?.[1] as string;
    assert.equal((await fetch(`${url}/ready`)).status, 200);

    await rename(socket, join(dir, 'moved.sock'));
    await new Promise<void>((resolve) => impostor.listen(socket, resolve));
    const ready = await fetch(`${url}/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(((await ready.json()) as { checks: Record<string, boolean> }).checks.socket, false);
    // Logs are written asynchronously: the warning may follow the answer.
    await agent.waitFor(({ stderr }) => /the socket file was removed or replaced by another/.test(stderr), 'the warning');

    assert.equal(await agent.stop('SIGTERM'), 0, agent.stderr());
    const answer = await new Promise<string>((resolve, reject) => {
      const c = net.connect(socket);
      let text = '';
      c.on('data', (d) => {
        text += String(d);
      });
      c.on('end', () => resolve(text));
      c.on('error', reject);
    });
    assert.equal(answer, 'impostor', 'the other process still serves on its socket');
    assert.match(agent.stderr(), /the socket file is no longer the one the agent bound; left in place/);
  } finally {
    await agent.stop('SIGKILL');
    await new Promise((resolve) => impostor.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
});
