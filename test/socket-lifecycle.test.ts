/**
 * The socket's life cycle (docs/cli.md, issue 2): a stale socket file is replaced, a live one is
 * never taken over, garbage on the socket harms nobody, and stop() is prompt with streams open.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent } from '../src/agent/index.js';
import { startTestAgent, testAgentConfig, writeCredentials } from './support/agent-harness.js';
import { finalStatus, runChild, startChild } from './support/child.js';
import { captureLogger } from './support/log-capture.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'svid-sock-'));
}

/** Leaves a socket file behind with nothing listening: a listener that was SIGKILLed. */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  assert.ok(statSync(path).isSocket(), 'the stale socket file is still there');
}

test('a stale socket file is replaced and served', async () => {
  const dir = await tempDir();
  try {
    await writeCredentials(dir);
    const config = testAgentConfig(dir);
    await staleSocket(config.socket);
    const log = captureLogger();
    const running = await startAgent(config, { logger: log.logger });
    try {
      assert.equal(statSync(config.socket).mode & 0o777, 0o777);
      const events = await runChild(['--socket', config.socket]);
      assert.ok(events.some((e) => e.event === 'data'));
      assert.ok(log.entries.some((e) => e.msg === 'replaced stale socket file'));
    } finally {
      await running.stop();
    }
    assert.ok(!existsSync(config.socket), 'socket removed on stop');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a live socket is never taken over, and a non-socket file is never removed', async () => {
  const dir = await tempDir();
  try {
    await writeCredentials(dir);
    const config = testAgentConfig(dir);
    const live = net.createServer().listen(config.socket);
    await new Promise((resolve) => live.once('listening', resolve));
    await assert.rejects(startAgent(config, { logger: captureLogger().logger }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONFIG_INVALID');
      assert.match(err.message, /another process is serving/);
      return true;
    });
    assert.ok(existsSync(config.socket));
    await new Promise((resolve) => live.close(resolve));

    const file = join(dir, 'file.sock');
    writeFileSync(file, 'precious');
    await assert.rejects(startAgent(testAgentConfig(dir, { socket: file }), { logger: captureLogger().logger }), /is not a socket/);
    assert.ok(existsSync(file));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('garbage on the socket does not hurt the agent', async () => {
  const agent = await startTestAgent();
  try {
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const s = net.connect(agent.socketPath, () => {
          s.write(randomBytes(1 + ((i * 97) % 4096)));
          setTimeout(() => s.destroy(), 20);
        });
        s.on('error', () => undefined);
        s.on('close', () => resolve());
      });
    }
    const events = await runChild(['--socket', agent.socketPath]);
    assert.ok(
      events.some((e) => e.event === 'data'),
      'still serving',
    );
  } finally {
    await agent.close();
  }
});

test('stop() ends open streams promptly and removes the socket', async () => {
  const agent = await startTestAgent();
  const children = Array.from({ length: 5 }, () => startChild(['--socket', agent.socketPath, '--count', '100', '--timeout', '60000']));
  await Promise.all(children.map((c) => c.waitFor((e) => e.event === 'data')));
  const started = Date.now();
  await agent.close();
  assert.ok(Date.now() - started < 2_000, `stopped in ${Date.now() - started} ms`);
  assert.ok(!existsSync(agent.socketPath));
  for (const child of children) assert.equal(finalStatus(await child.done).code, 0, 'streams end with OK');
});
