/**
 * Runs one fuzz target: inputs drawn from a seeded stream per index, each run under the oracle
 * "returns, or throws one of our coded errors with a listed code", with the CPU time of each
 * input measured (`process.cpuUsage`, so a busy machine does not inflate it as wall time would).
 */
import { type AgentErrorCode, describeError, isAgentError } from '../../src/errors.js';
import { createRng, hashName, type Rng } from './prng.js';

/** A fuzz target: how to make input `index` and what to run it through. */
export interface FuzzTarget<I = unknown> {
  readonly name: string;
  /** The codes an input may be refused with; any other failure breaks the oracle. */
  readonly codes: readonly AgentErrorCode[];
  /** Inputs of a full run (`npm run fuzz`) and of the smoke run inside `npm test`. */
  readonly fullInputs: number;
  readonly smokeInputs: number;
  /** Whether a full run bounds the CPU time of one input (default true). */
  readonly cpuBound?: boolean;
  /** Index of the 200 KB OID seed, whose CPU time a full run bounds at 10 ms. */
  readonly oidSeedIndex?: number;
  /** Makes the seeds (keys, valid CSRs, certificates, tokens). */
  setup(): Promise<void>;
  /** Input `index`, drawn only from `rng`, so seed and index reproduce it. */
  input(rng: Rng, index: number): I;
  run(input: I): unknown;
  /** A short printable form of an input, for failure reports. */
  show(input: I): string;
  /** Runs after the last input; what it throws breaks the oracle (the socket target's final check). */
  finish?(): Promise<void>;
  /** Extra figures of the run, printed after the standard ones. */
  figures?(): Record<string, string | number>;
  teardown?(): Promise<void>;
}

/** An input that broke the oracle. */
export interface FuzzFailure {
  readonly index: number;
  readonly error: string;
  /** Printable preview. */
  readonly input: string;
  /** The input itself, to save for `--replay`. */
  readonly value: unknown;
}

export interface TargetReport {
  readonly name: string;
  readonly seed: number;
  readonly inputs: number;
  readonly accepted: number;
  /** Refusals by code. */
  readonly refused: Readonly<Record<string, number>>;
  readonly failures: readonly FuzzFailure[];
  /** The input with the most CPU time as first measured. */
  readonly slowest: { readonly index: number; readonly cpuMs: number };
  /**
   * What a time bound judges: every input whose first measure reached {@link REMEASURE_ABOVE_MS}
   * is run {@link REMEASURE_RUNS} times more and counts with its least time (`process.cpuUsage`
   * counts every thread, so a garbage collection beside one input lands on it; an input that is
   * really slow stays slow). `cpuMs` is the worst such least time, or the first measure of the
   * slowest input when none reached the threshold; `remeasured` how many were run again.
   */
  readonly confirmed: { readonly index: number; readonly cpuMs: number; readonly remeasured: number };
  readonly oidSeedCpuMs?: number;
  readonly totalCpuMs: number;
  readonly wallMs: number;
  readonly figures: Readonly<Record<string, string | number>>;
}

/** The seed stream of `target` under the run's `seed`. */
export function targetRng(target: { name: string }, seed: number, index: number): Rng {
  return createRng((seed ^ hashName(target.name)) >>> 0, index);
}

function cpuMs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

/** Inputs whose first measure reaches this are run again before a time bound judges them. */
export const REMEASURE_ABOVE_MS = 20;
export const REMEASURE_RUNS = 3;
const MAX_REMEASURED = 50;

/** The CPU time of one run of `input`, ms; what it throws does not matter here. */
async function measure(target: FuzzTarget, input: unknown): Promise<number> {
  const before = process.cpuUsage();
  try {
    await target.run(input);
  } catch {
    // judged on the first run
  }
  return cpuMs(before);
}

/** Runs inputs `from` .. `from + count - 1` of `target` (set up already). Never throws for an input. */
export async function runTarget(target: FuzzTarget, options: { seed: number; count: number; from?: number }): Promise<TargetReport> {
  const from = options.from ?? 0;
  const refused: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  let accepted = 0;
  let slowest = { index: -1, cpuMs: -1 };
  const slow: number[] = [];
  let oidSeedCpuMs: number | undefined;
  let totalCpuMs = 0;
  const started = Date.now();
  for (let index = from; index < from + options.count; index++) {
    const input = target.input(targetRng(target, options.seed, index), index);
    const before = process.cpuUsage();
    let error: unknown;
    try {
      await target.run(input);
    } catch (err) {
      error = err ?? new Error('thrown nullish');
    }
    const spent = cpuMs(before);
    totalCpuMs += spent;
    if (spent > slowest.cpuMs) slowest = { index, cpuMs: spent };
    if (spent >= REMEASURE_ABOVE_MS && target.cpuBound !== false) slow.push(index);
    if (index === target.oidSeedIndex) oidSeedCpuMs = spent;
    if (error === undefined) accepted++;
    else if (isAgentError(error, ...target.codes)) refused[error.code] = (refused[error.code] ?? 0) + 1;
    else {
      const stack = error instanceof Error ? (error.stack ?? '').split('\n').slice(1, 4).join(' |') : '';
      failures.push({
        index,
        error: `${error instanceof Error ? error.name : typeof error}: ${describeError(error)}${stack}`,
        input: target.show(input),
        value: input,
      });
    }
  }
  let confirmed = { ...slowest, remeasured: 0 };
  if (slow.length > 0) {
    confirmed = { index: -1, cpuMs: -1, remeasured: Math.min(slow.length, MAX_REMEASURED) };
    for (const index of slow.slice(0, MAX_REMEASURED)) {
      const input = target.input(targetRng(target, options.seed, index), index);
      const runs: number[] = [];
      for (let i = 0; i < REMEASURE_RUNS; i++) runs.push(await measure(target, input));
      const least = Math.min(...runs);
      if (least > confirmed.cpuMs) confirmed = { ...confirmed, index, cpuMs: least };
    }
    // Past the cap the rest count as first measured: many slow inputs are no accident.
    for (const index of slow.slice(MAX_REMEASURED))
      confirmed = { ...confirmed, index, cpuMs: Math.max(confirmed.cpuMs, REMEASURE_ABOVE_MS) };
  }
  try {
    await target.finish?.();
  } catch (err) {
    failures.push({ index: from + options.count, error: `after the last input: ${describeError(err)}`, input: '(none)', value: null });
  }
  return {
    name: target.name,
    seed: options.seed,
    inputs: options.count,
    accepted,
    refused,
    failures,
    slowest,
    confirmed,
    ...(oidSeedCpuMs === undefined ? {} : { oidSeedCpuMs }),
    totalCpuMs,
    wallMs: Date.now() - started,
    figures: target.figures?.() ?? {},
  };
}

/** A printable preview of bytes: length and the first `max` octets in hex. */
export function showBytes(bytes: Uint8Array, max = 96): string {
  const hex = Buffer.from(bytes.subarray(0, max)).toString('hex');
  return `${bytes.length} bytes: ${hex}${bytes.length > max ? '…' : ''}`;
}

/** A printable preview of text. */
export function showText(text: string, max = 200): string {
  return `${text.length} chars: ${JSON.stringify(text.slice(0, max))}${text.length > max ? '…' : ''}`;
}
