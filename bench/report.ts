/**
 * How the benchmarks report: each figure beside its floor or reference and the ratio, and each
 * goal as met or missed. `bench/run.ts` prints the goals again at the end and exits non-zero
 * when one is missed.
 */

/** One measured figure with what it is compared to. */
export interface Figure {
  /** What was measured, e.g. `idle VmRSS, run --dev`. */
  readonly label: string;
  readonly value: number;
  readonly unit: 'MB' | 'ms' | 'KiB' | '';
  /** The floor or reference it is compared to, with its label. */
  readonly reference?: { readonly label: string; readonly value: number };
  /** The goal: the figure must be at most this (in `unit`). */
  readonly limit?: number;
  /** A goal stated as a ratio to the reference (e.g. `1.5`): the ratio must be at most this. */
  readonly ratioLimit?: number;
  /** A goal stated as a ratio the figure must reach (e.g. a rate at least `0.85` of its floor's). */
  readonly ratioAtLeast?: number;
  /** The ratio when it is not `value / reference` (a median of per-run ratios). */
  readonly ratio?: number;
  /** Shown beside the figure: samples, method. */
  readonly note?: string;
}

/** A goal's outcome. */
export interface GoalResult {
  readonly section: string;
  readonly figure: Figure;
  readonly met: boolean;
}

const results: GoalResult[] = [];

export const MB = 1024 * 1024;

/** The `p` quantile (0..1) of `values`, nearest rank. */
export function quantile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] as number;
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

function fmt(value: number, unit: Figure['unit']): string {
  const digits = unit === 'ms' && value < 10 ? 2 : 1;
  return `${value.toFixed(digits)}${unit ? ` ${unit}` : ''}`;
}

function goalText(figure: Figure): string {
  if (figure.ratioLimit !== undefined) return `ratio ≤ ${figure.ratioLimit}`;
  if (figure.ratioAtLeast !== undefined) return `ratio ≥ ${figure.ratioAtLeast}`;
  if (figure.limit !== undefined) return `≤ ${fmt(figure.limit, figure.unit)}`;
  return '';
}

function ratioOf(figure: Figure): number | undefined {
  return figure.ratio ?? (figure.reference ? figure.value / figure.reference.value : undefined);
}

function met(figure: Figure): boolean | undefined {
  const ratio = ratioOf(figure);
  if (figure.ratioLimit !== undefined && ratio !== undefined) return ratio <= figure.ratioLimit;
  if (figure.ratioAtLeast !== undefined && ratio !== undefined) return ratio >= figure.ratioAtLeast;
  if (figure.limit !== undefined) return figure.value <= figure.limit;
  return undefined;
}

/** Prints a section's table and records its goals. */
export function printTable(section: string, figures: readonly Figure[]): void {
  console.log('');
  console.log(`| ${section} | value | floor / reference | ratio | goal | |`);
  console.log('|---|---:|---|---:|---|---|');
  for (const figure of figures) {
    const ref = figure.reference ? `${figure.reference.label}: ${fmt(figure.reference.value, figure.unit)}` : '';
    const ratio = ratioOf(figure)?.toFixed(2) ?? '';
    const outcome = met(figure);
    if (outcome !== undefined) results.push({ section, figure, met: outcome });
    const mark = outcome === undefined ? '' : outcome ? 'met' : '**MISSED**';
    const note = figure.note ? ` (${figure.note})` : '';
    console.log(`| ${figure.label}${note} | ${fmt(figure.value, figure.unit)} | ${ref} | ${ratio} | ${goalText(figure)} | ${mark} |`);
  }
}

/** Every goal recorded so far. */
export function goalResults(): readonly GoalResult[] {
  return results;
}
