/**
 * Waiting in tests for a condition that the code under test makes true (a log line, a count, a
 * metric). The order comes from the condition, never from the clock; the bound only turns a wait
 * that can never end into a failure that says what it waited for, instead of a test file lost to
 * the runner's timeout with nothing said. It is far beyond any wait on a busy machine.
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';

/** How long a wait may last before it is taken for a hang, ms. */
export const HANG_MS = 30_000;

export interface WaitOptions {
  /** Ms between checks; 0 checks again on the next turn of the event loop. Default 10. */
  readonly everyMs?: number;
  /** The bound, ms; default {@link HANG_MS}. */
  readonly hangMs?: number;
  /** What the failure adds to say where things stood (e.g. the log so far). */
  readonly state?: () => string;
}

/**
 * Resolves once `condition` holds (checked at once, then every `everyMs`).
 * @throws Error naming `what` when it has not held within `hangMs`
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, options: WaitOptions = {}): Promise<void> {
  const every = options.everyMs ?? 10;
  const deadline = Date.now() + (options.hangMs ?? HANG_MS);
  while (!(await condition())) {
    if (Date.now() > deadline) {
      const state = options.state?.();
      throw new Error(`waited ${options.hangMs ?? HANG_MS} ms for ${what}; it never happened${state ? `\n${state}` : ''}`);
    }
    await (every === 0 ? nextTurn() : sleep(every));
  }
}

/**
 * `promise`, or a failure naming `what` if it has not settled within `hangMs` (an event that
 * never comes).
 */
export async function within<T>(promise: Promise<T>, what: string, hangMs = HANG_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${hangMs} ms for ${what}; it never happened`)), hangMs);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}
