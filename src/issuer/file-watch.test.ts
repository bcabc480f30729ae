import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { captureLogger } from '../../test/support/log-capture.js';
import { FIRST_RETRY_MS, MAX_RETRY_MS, type WatchTimers, watchDirectories } from './file-watch.js';

/** Timers that only fire when the test says so. */
function fakeTimers() {
  let next = 1;
  const pending = new Map<number, { fn: () => void; ms: number; repeat: boolean }>();
  const timers: WatchTimers = {
    setTimeout: (fn, ms) => {
      pending.set(next, { fn, ms, repeat: false });
      return next++;
    },
    setInterval: (fn, ms) => {
      pending.set(next, { fn, ms, repeat: true });
      return next++;
    },
    clearTimeout: (h) => pending.delete(h as number),
    clearInterval: (h) => pending.delete(h as number),
  };
  const find = (repeat: boolean, ms?: number) =>
    [...pending.entries()].filter(([, t]) => t.repeat === repeat && (ms === undefined || t.ms === ms));
  return {
    timers,
    /** Delays of the pending one-shot timers other than the debounce. */
    retries: () => find(false).map(([, t]) => t.ms),
    fireRetry() {
      const [entry] = find(false);
      assert.ok(entry, 'a retry is pending');
      pending.delete(entry[0]);
      entry[1].fn();
    },
    firePoll() {
      const [entry] = find(true);
      assert.ok(entry, 'a poll is scheduled');
      entry[1].fn();
    },
    size: () => pending.size,
  };
}

const base = mkdtempSync(join(tmpdir(), 'svid-agent-watch-'));
after(() => rmSync(base, { recursive: true, force: true }));

describe('watchDirectories on a missing directory (issue 15)', () => {
  it('keeps one retry per directory, backs off to 30 s, warns once, and says when the watch is back', () => {
    const dir = join(base, 'issuer');
    const clock = fakeTimers();
    const log = captureLogger('info');
    let changes = 0;
    const watch = watchDirectories({ dirs: [dir], onChange: () => changes++, logger: log.logger, pollMs: 30_000, timers: clock.timers });
    assert.deepEqual(clock.retries(), [FIRST_RETRY_MS]);

    // Polls while the retry is pending start nothing new (before: one more retry loop per poll).
    for (let i = 0; i < 5; i++) clock.firePoll();
    assert.equal(changes, 5);
    assert.deepEqual(clock.retries(), [FIRST_RETRY_MS]);

    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      clock.fireRetry();
      delays.push(...clock.retries());
      clock.firePoll();
      assert.equal(clock.retries().length, 1, 'still one retry');
    }
    assert.deepEqual(delays, [2000, 4000, 8000, 16000, MAX_RETRY_MS, MAX_RETRY_MS, MAX_RETRY_MS]);
    const warnings = log.entries.filter((e) => e.msg === 'credential watch failed; retrying');
    assert.equal(warnings.length, 1);

    mkdirSync(dir);
    clock.fireRetry();
    assert.deepEqual(clock.retries(), []);
    assert.equal(log.entries.filter((e) => e.msg === 'credential watch restored').length, 1);
    clock.firePoll();
    assert.deepEqual(clock.retries(), []);

    watch.close();
    assert.equal(clock.size(), 0, 'close clears every timer');
  });

  it('retries each missing directory on its own', () => {
    const clock = fakeTimers();
    const log = captureLogger('info');
    const watch = watchDirectories({
      dirs: [join(base, 'a'), join(base, 'b')],
      onChange: () => {},
      logger: log.logger,
      pollMs: 30_000,
      timers: clock.timers,
    });
    clock.firePoll();
    assert.deepEqual(clock.retries(), [FIRST_RETRY_MS, FIRST_RETRY_MS]);
    assert.equal(log.entries.filter((e) => e.msg === 'credential watch failed; retrying').length, 2);
    watch.close();
  });
});
