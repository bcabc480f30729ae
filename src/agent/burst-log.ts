/**
 * One log line per burst (issue 15): a flood of refused connections or failed accepts must not
 * become a flood of log lines. The first event logs at once; the rest within `windowMs` are only
 * counted, and the next line after the window says how many were left out (`suppressed`). The
 * metrics count every event.
 */
import type { Clock } from '../clock.js';

/** A burst of refused connections, refused streams or failed accepts is logged once per this window, ms. */
export const BURST_LOG_WINDOW_MS = 10_000;

/** Logs `fields` (plus `suppressed` when events went unlogged since the last line). */
export type BurstLog = (fields: Record<string, unknown>) => void;

/** Wraps `write` so that it runs at most once per `windowMs`. */
export function createBurstLog(write: (fields: Record<string, unknown>) => void, options: { windowMs: number; clock: Clock }): BurstLog {
  let lastLine = Number.NEGATIVE_INFINITY;
  let suppressed = 0;
  return (fields) => {
    const now = options.clock.now();
    if (now - lastLine < options.windowMs) {
      suppressed++;
      return;
    }
    write(suppressed > 0 ? { ...fields, suppressed } : fields);
    lastLine = now;
    suppressed = 0;
  };
}
