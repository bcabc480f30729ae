/** How the long-running commands (`run`, `issuer`) hand SIGTERM and SIGINT to what they run. */
import type { Logger } from '../log.js';

/** From now on, the first SIGTERM or SIGINT aborts `controller` instead of ending the process. */
export function stopOnSignal(controller: AbortController, logger: Logger): void {
  const onSignal = (signal: NodeJS.Signals) => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    logger.info({ signal }, 'shutting down');
    controller.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
