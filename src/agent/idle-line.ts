/**
 * The identities nobody holds, in the order they became idle (issue 13, `--svid-idle-ttl`):
 * bookkeeping only, with no timer; the SVID store decides what dropping one means.
 */
import type { Clock } from '../clock.js';

export interface IdleLine {
  /**
   * Records `id` as idle from now (moving it to the end of the line), and returns the ids that no
   * longer fit under the cap, longest idle first; they have left the line.
   */
  add(id: string): string[];
  delete(id: string): void;
  /** The ids whose grace has passed, longest idle first (they stay in the line until deleted). */
  pastGrace(): string[];
}

/** @throws TypeError when `max` is not a positive integer */
export function createIdleLine(options: { readonly graceMs: number; readonly max: number; readonly clock: Clock }): IdleLine {
  const { graceMs, max, clock } = options;
  if (!Number.isInteger(max) || max < 1) throw new TypeError(`max must be a positive integer: ${max}`);
  // A Map iterates in insertion order: the longest idle comes first.
  const since = new Map<string, number>();
  return {
    add(id) {
      since.delete(id);
      since.set(id, clock.now());
      const evicted: string[] = [];
      for (const oldest of since.keys()) {
        if (since.size <= max) break;
        since.delete(oldest);
        evicted.push(oldest);
      }
      return evicted;
    },
    delete(id) {
      since.delete(id);
    },
    pastGrace() {
      const now = clock.now();
      const due: string[] = [];
      for (const [id, at] of since) {
        if (now - at < graceMs) break;
        due.push(id);
      }
      return due;
    },
  };
}
