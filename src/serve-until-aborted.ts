/** How a started agent or issuer runs until it is told to stop. */

/** Something started that stops within its own bound. */
export interface Stoppable {
  stop(): Promise<void>;
}

/**
 * Calls `onServing` with `running`, waits until `signal` is aborted, then stops it.
 * @returns once `running` has stopped
 */
export async function serveUntilAborted<T extends Stoppable>(
  running: T,
  signal: AbortSignal,
  onServing?: (running: T) => void,
): Promise<void> {
  onServing?.(running);
  if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  await running.stop();
}
