/**
 * Full or short run. `npm run bench -- --short [sections]` keeps every step of every section but
 * with fewer samples and shorter waits, to check that the benchmarks work in a minute or two; its
 * figures are not the documented ones (docs/performance.md quotes full runs only).
 */
export const SHORT = process.argv.includes('--short');

/** `full` in a full run, `short` in a short one. */
export function scaled<T>(full: T, short: T): T {
  return SHORT ? short : full;
}

/** When idle memory is sampled: this long after the socket accepts (the idle goals say 30 s). */
export const IDLE_WAIT_MS = scaled(30_000, 3_000);
/** Fresh starts whose idle memory makes one median (the idle goals say 5). */
export const IDLE_STARTS = scaled(5, 2);
