import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const TIMERS = fileURLToPath(new URL('./timers.ts', import.meta.url));

test('clearing a timer leaves no empty per-duration list behind, whatever its delay', () => {
  // Node's list of timers per duration is internal: a child process with --expose-internals
  // counts them after 1,000 timers of distinct delays are set and cleared, as acquires do.
  const script = `
    const { timerListMap } = (await import('node:module')).createRequire(import.meta.url)('internal/timers');
    const { NODE_TIMERS } = await import(${JSON.stringify(TIMERS)});
    const before = Object.keys(timerListMap).length;
    for (let i = 0; i < 1000; i++) NODE_TIMERS.clearTimeout(NODE_TIMERS.setTimeout(() => {}, 3_600_000 + i));
    NODE_TIMERS.clearTimeout(undefined);
    NODE_TIMERS.clearTimeout(0);
    console.log(Object.keys(timerListMap).length - before);
  `;
  const child = spawnSync(process.execPath, ['--expose-internals', '--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), '0');
});
