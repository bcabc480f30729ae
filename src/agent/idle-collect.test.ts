import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fullCollection, startIdleCollector } from './idle-collect.js';
import { manualTimers } from './svid-store.test-support.js';

function world() {
  const clock = { ms: 1_000_000, now: () => clock.ms };
  const timers = manualTimers(clock);
  let collections = 0;
  const collector = startIdleCollector({ collect: () => collections++, clock, idleMs: 10_000, timers: timers.timers });
  return { clock, timers, collector, collections: () => collections };
}

describe('startIdleCollector', () => {
  it('collects once, a quiet spell after the last connection opened or closed', async () => {
    const w = world();
    w.collector.touch();
    await w.timers.advance(6_000);
    w.collector.touch();
    await w.timers.advance(9_999);
    assert.equal(w.collections(), 0, 'the second touch put it off');
    await w.timers.advance(1);
    assert.equal(w.collections(), 1);
    await w.timers.advance(60_000);
    assert.equal(w.collections(), 1, 'once per quiet spell');
    assert.deepEqual(w.timers.delays(), []);
  });

  it('keeps one timer however many connections come and go', async () => {
    const w = world();
    for (let i = 0; i < 1000; i++) {
      w.collector.touch();
      w.clock.ms += 5;
    }
    assert.equal(w.timers.delays().length, 1);
    await w.timers.advance(20_000);
    assert.equal(w.collections(), 1);
    w.collector.touch();
    await w.timers.advance(10_000);
    assert.equal(w.collections(), 2, 'a new spell after new activity');
  });

  it('waits at most one quiet spell more when its clock steps back', async () => {
    const timerClock = { ms: 0 };
    const timers = manualTimers(timerClock);
    let ms = 1_000_000;
    const collector = startIdleCollector({ collect: () => undefined, clock: { now: () => ms }, idleMs: 10_000, timers: timers.timers });
    collector.touch();
    ms -= 30 * 86_400_000;
    await timers.advance(10_000);
    assert.deepEqual(timers.delays(), [10_000], 're-armed for one spell, not for 30 days');
  });

  it('never collects without a touch, nor after close()', async () => {
    const w = world();
    await w.timers.advance(60_000);
    w.collector.touch();
    w.collector.close();
    w.collector.touch();
    await w.timers.advance(60_000);
    assert.equal(w.collections(), 0);
    assert.deepEqual(w.timers.delays(), []);
  });
});

describe('fullCollection', () => {
  it("is V8's collector, made once, callable, and leaves the global scope as it was", () => {
    const collect = fullCollection();
    assert.equal(typeof collect, 'function');
    assert.equal(fullCollection(), collect);
    collect?.();
    assert.equal('gc' in globalThis, false);
  });
});
