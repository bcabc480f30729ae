/**
 * `npm run fuzz`: every target, 100,000 inputs each (the socket target fewer: each input is a
 * connection to a child agent), with a fresh seed unless `--seed` is given. Prints per target the
 * inputs, refusals by code, oracle failures (seed and index reproduce each one), the slowest
 * input in CPU time, and exits 1 when the oracle breaks or an input takes 100 ms of CPU or more
 * (the 200 KB OID seed: 10 ms).
 *
 * Options: --seed N, --target a,b, --inputs N (per target), --smoke (the `npm test` sizes),
 *          --index I (run only input I of each target and print it).
 */
import { parseArgs } from 'node:util';
import { runTarget, type TargetReport, targetRng } from './runner.js';
import { allTargets } from './targets/index.js';

/** The full run's bounds (issue 15). */
export const MAX_INPUT_CPU_MS = 100;
export const MAX_OID_SEED_CPU_MS = 10;

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    target: { type: 'string' },
    inputs: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    index: { type: 'string' },
  },
});
const seed = values.seed === undefined ? (Math.random() * 2 ** 32) >>> 0 : Number(values.seed) >>> 0;
const wanted = values.target?.split(',');
const targets = allTargets().filter((t) => !wanted || wanted.includes(t.name));
if (targets.length === 0) throw new Error(`no target named ${values.target}`);

console.log(`fuzz seed ${seed} (rerun with --seed ${seed}); node ${process.version}`);
let broken = false;
const reports: TargetReport[] = [];
for (const target of targets) {
  await target.setup();
  try {
    if (values.index !== undefined) {
      const index = Number(values.index);
      console.log(`${target.name} #${index}: ${target.show(target.input(targetRng(target, seed, index), index))}`);
      const report = await runTarget(target, { seed, count: 1, from: index });
      console.log(report.failures[0] ? `  FAILS: ${report.failures[0].error}` : `  ok (${JSON.stringify(report.refused)})`);
      broken ||= report.failures.length > 0;
      continue;
    }
    const count = values.inputs ? Number(values.inputs) : values.smoke ? target.smokeInputs : target.fullInputs;
    const report = await runTarget(target, { seed, count });
    reports.push(report);
    const refused = Object.entries(report.refused)
      .map(([code, n]) => `${code} ${n}`)
      .join(', ');
    console.log(
      `\n${target.name}: ${report.inputs} inputs in ${(report.wallMs / 1000).toFixed(1)} s (${report.totalCpuMs.toFixed(0)} ms CPU)`,
    );
    console.log(`  accepted ${report.accepted}; refused: ${refused || 'none'}`);
    const bound = target.cpuBound === false ? 'client side, not bounded' : `bound ${MAX_INPUT_CPU_MS} ms`;
    console.log(`  slowest input #${report.slowest.index}: ${report.slowest.cpuMs.toFixed(2)} ms CPU (${bound})`);
    if (report.oidSeedCpuMs !== undefined)
      console.log(`  200 KB OID seed: ${report.oidSeedCpuMs.toFixed(3)} ms CPU (bound ${MAX_OID_SEED_CPU_MS} ms)`);
    for (const [name, value] of Object.entries(report.figures)) console.log(`  ${name}: ${value}`);
    for (const f of report.failures.slice(0, 5))
      console.log(`  FAILURE at --seed ${seed} --target ${target.name} --index ${f.index}: ${f.error}\n    input ${f.input}`);
    if (report.failures.length > 5) console.log(`  ... and ${report.failures.length - 5} more failures`);
    const slow =
      (target.cpuBound !== false && report.slowest.cpuMs >= MAX_INPUT_CPU_MS) || (report.oidSeedCpuMs ?? 0) >= MAX_OID_SEED_CPU_MS;
    if (report.failures.length > 0 || (!values.smoke && slow)) broken = true;
  } finally {
    await target.teardown?.();
  }
}
console.log(broken ? '\nfuzz: FAILED' : `\nfuzz: ${reports.length} targets passed`);
process.exitCode = broken ? 1 : 0;
