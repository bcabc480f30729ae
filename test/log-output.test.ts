/**
 * The agent's log lines on stderr: written asynchronously, so a reader that stops never stalls the
 * process (a synchronous write blocks on a full pipe), bounded, and flushed at exit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const WRITER = fileURLToPath(new URL('./support/log-writer.ts', import.meta.url));
/** Far more than a pipe (64 KiB) and the parent's read buffer hold: ~800 KB. */
const MANY = 5000;

interface Written {
  readonly indices: number[];
  readonly code: number | null;
}

/**
 * Runs the writer; with `readAfterLogged` the parent reads nothing of its stderr until the writer
 * says every log call has returned (with a synchronous destination that message never comes).
 */
async function runWriter(args: string[], readAfterLogged: boolean): Promise<Written> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, ...args], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const chunks: Buffer[] = [];
  const read = () => child.stderr?.on('data', (chunk: Buffer) => chunks.push(chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ended = new Promise<void>((resolve) => child.stderr?.once('end', resolve));
  if (!readAfterLogged) read();
  const logged = await new Promise<unknown>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`writer exited ${code} before it had logged`)));
  });
  assert.deepEqual(logged, { logged: Number(args[0]) });
  if (readAfterLogged) read();
  const code = await exited;
  await ended;
  const lines = Buffer.concat(chunks)
    .toString('utf8')
    .split('\n')
    .filter((line) => line !== '');
  // Whole JSON lines only: a dropped line is dropped entirely.
  const indices = lines.map((line) => (JSON.parse(line) as { i: number; msg: string }).i);
  return { indices, code };
}

describe('log lines on stderr', () => {
  test('a reader that stops does not stall the process; every line follows once it reads again', async () => {
    const { indices, code } = await runWriter([String(MANY), 'default', 'wait'], true);
    assert.equal(code, 0);
    assert.deepEqual(
      indices,
      Array.from({ length: MANY }, (_, i) => i),
    );
  });

  test('lines beyond the buffer are dropped whole, the rest kept in order', async () => {
    const { indices, code } = await runWriter([String(MANY), String(32 * 1024), 'wait'], true);
    assert.equal(code, 0);
    assert.equal(indices[0], 0);
    assert.ok(indices.length > 0 && indices.length < MANY, `${indices.length} lines`);
    assert.ok(
      indices.every((v, k) => k === 0 || v > (indices[k - 1] as number)),
      'in order, none twice',
    );
  });

  test('lines still queued when the process exits are written', async () => {
    const { indices, code } = await runWriter([String(MANY), 'default', 'exit'], false);
    assert.equal(code, 0);
    assert.deepEqual(
      indices,
      Array.from({ length: MANY }, (_, i) => i),
    );
  });
});
