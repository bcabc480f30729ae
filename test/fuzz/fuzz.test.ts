/**
 * The smoke run of the fuzzers inside `npm test`: a few hundred inputs per target with a fixed
 * seed, under the same oracle as `npm run fuzz` (only our coded errors, with each target's codes;
 * the socket target's agent stays up and serves a good client). No time bounds here: the CPU time
 * of the slowest input is printed, and the full run (`npm run fuzz`) enforces the bounds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runTarget } from './runner.js';
import { allTargets } from './targets/index.js';

const SEED = 15;

describe('fuzz smoke run', () => {
  for (const target of allTargets()) {
    it(`${target.name}: ${target.smokeInputs} inputs, only ${target.codes.join(', ') || 'no'} errors`, async (t) => {
      await target.setup();
      try {
        const report = await runTarget(target, { seed: SEED, count: target.smokeInputs });
        t.diagnostic(`slowest input #${report.slowest.index}: ${report.slowest.cpuMs.toFixed(2)} ms CPU`);
        if (report.oidSeedCpuMs !== undefined) t.diagnostic(`200 KB OID seed: ${report.oidSeedCpuMs.toFixed(3)} ms CPU`);
        const shown = report.failures
          .slice(0, 3)
          .map((f) => `--seed ${SEED} --target ${target.name} --index ${f.index}: ${f.error}\n  ${f.input}`);
        assert.deepEqual(shown, [], `${report.failures.length} inputs broke the oracle`);
      } finally {
        await target.teardown?.();
      }
    });
  }
});
