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
  readonly input: string;
}

export interface TargetReport {
  readonly name: string;
  readonly seed: number;
  readonly inputs: number;
  readonly accepted: number;
  /** Refusals by code. */
  readonly refused: Readonly<Record<string, number>>;
  readonly failures: readonly FuzzFailure[];
  /** The input with the most CPU time. */
  readonly slowest: { readonly index: number; readonly cpuMs: number };
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

/** Runs inputs `from` .. `from + count - 1` of `target` (set up already). Never throws for an input. */
export async function runTarget(target: FuzzTarget, options: { seed: number; count: number; from?: number }): Promise<TargetReport> {
  const from = options.from ?? 0;
  const refused: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  let accepted = 0;
  let slowest = { index: -1, cpuMs: -1 };
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
    if (index === target.oidSeedIndex) oidSeedCpuMs = spent;
    if (error === undefined) accepted++;
    else if (isAgentError(error, ...target.codes)) refused[error.code] = (refused[error.code] ?? 0) + 1;
    else {
      const stack = error instanceof Error ? (error.stack ?? '').split('\n').slice(1, 4).join(' |') : '';
      failures.push({
        index,
        error: `${error instanceof Error ? error.name : typeof error}: ${describeError(error)}${stack}`,
        input: target.show(input),
      });
    }
  }
  try {
    await target.finish?.();
  } catch (err) {
    failures.push({ index: from + options.count, error: `after the last input: ${describeError(err)}`, input: '(none)' });
  }
  return {
    name: target.name,
    seed: options.seed,
    inputs: options.count,
    accepted,
    refused,
    failures,
    slowest,
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
