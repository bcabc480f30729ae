/**
 * `npm run fuzz`: every target, 100,000 inputs each (the socket target fewer: each input is a
 * connection to a child agent), with a fresh seed unless `--seed` is given. Prints per target the
 * inputs, refusals by code, oracle failures (seed and index reproduce each one), the slowest
 * input in CPU time, and exits 1 when the oracle breaks or an input takes 100 ms of CPU or more
 * (the 200 KB OID seed: 10 ms, on its first run). Inputs that take 20 ms or more are run three
 * times more and judged on the least: the process's CPU time includes garbage collection
 * threads, which a genuinely slow input does not need to explain.
 *
 * Options: --seed N, --target a,b, --inputs N (per target), --smoke (the `npm test` sizes),
 *          --index I (run only input I of each target and print it),
 *          --replay FILE (run the input saved in FILE through its target).
 *
 * Seed and index fix the mutations; the seed material (keys, signatures) is made afresh in each
 * run, so every input that breaks the oracle is also saved whole to a file that `--replay` runs.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    replay: { type: 'string' },
  },
});

/** Inputs as JSON, buffers as `{ "$b64": ... }`. */
function saveInput(input: unknown): string {
  return JSON.stringify(input, function (this: Record<string, unknown>, key: string, value: unknown) {
    const raw = this[key];
    return Buffer.isBuffer(raw) ? { $b64: raw.toString('base64') } : value;
  });
}

function loadInput(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) =>
    value && typeof value === 'object' && '$b64' in value ? Buffer.from(String((value as { $b64: unknown }).$b64), 'base64') : value,
  );
}

if (values.replay !== undefined) {
  const saved = JSON.parse(readFileSync(values.replay, 'utf8')) as { target: string; input: string };
  const target = allTargets().find((t) => t.name === saved.target);
  if (!target) throw new Error(`no target named ${saved.target}`);
  await target.setup();
  try {
    await target.run(loadInput(saved.input));
    console.log(`${saved.target}: the input passes`);
  } catch (err) {
    console.log(`${saved.target}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  } finally {
    await target.teardown?.();
  }
  process.exit(0);
}
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
    console.log(`  slowest input as first measured: #${report.slowest.index}, ${report.slowest.cpuMs.toFixed(2)} ms CPU`);
    const again =
      report.confirmed.remeasured === 0 ? 'none reached 20 ms' : `${report.confirmed.remeasured} input(s) over 20 ms run 3 times more`;
    if (target.cpuBound === false) console.log(`  (${bound})`);
    else console.log(`  slowest confirmed: #${report.confirmed.index}, ${report.confirmed.cpuMs.toFixed(2)} ms CPU (${again}; ${bound})`);
    if (report.oidSeedCpuMs !== undefined)
      console.log(`  200 KB OID seed: ${report.oidSeedCpuMs.toFixed(3)} ms CPU (bound ${MAX_OID_SEED_CPU_MS} ms)`);
    for (const [name, value] of Object.entries(report.figures)) console.log(`  ${name}: ${value}`);
    for (const f of report.failures.slice(0, 5)) {
      const dir = join(tmpdir(), 'svid-agent-fuzz');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `${target.name}-${seed}-${f.index}.json`);
      writeFileSync(file, JSON.stringify({ target: target.name, input: saveInput(f.value) }));
      console.log(
        `  FAILURE at --seed ${seed} --target ${target.name} --index ${f.index}: ${f.error}\n    input ${f.input}\n    saved: --replay ${file}`,
      );
    }
    if (report.failures.length > 5) console.log(`  ... and ${report.failures.length - 5} more failures`);
    const slow =
      (target.cpuBound !== false && report.confirmed.cpuMs >= MAX_INPUT_CPU_MS) || (report.oidSeedCpuMs ?? 0) >= MAX_OID_SEED_CPU_MS;
    if (report.failures.length > 0 || (!values.smoke && slow)) broken = true;
  } finally {
    await target.teardown?.();
  }
}
console.log(broken ? '\nfuzz: FAILED' : `\nfuzz: ${reports.length} targets passed`);
process.exitCode = broken ? 1 : 0;
