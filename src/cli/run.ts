/**
 * `svid-agent run`: make the logger, create the `--dev` credentials when asked, then hand the
 * configuration to the agent (`runAgent`, which builds and runs everything) until SIGTERM or
 * SIGINT. Returns the exit code (docs/cli.md).
 */
import { dirname } from 'node:path';
import { runAgent } from '../agent/index.js';
import { createLogger } from '../log.js';
import { ensureDevCredentials } from './dev-credentials.js';
import { EXIT } from './exit.js';
import { devServingMessage } from './invocation.js';
import type { RunConfig } from './run-config.js';
import { explainStartFailure } from './start-failure.js';
import { stopOnSignal } from './stop-on-signal.js';

/** Options of {@link runAgentCommand}. */
export interface RunAgentOptions {
  /** How to run this program, for the commands it prints (`svid-agent`, `node bin/svid-agent.js`). */
  readonly self?: string;
}

/** Runs the agent until SIGTERM/SIGINT; returns the process exit code (docs/cli.md). */
export async function runAgentCommand(config: RunConfig, options: RunAgentOptions = {}): Promise<number> {
  const logger = createLogger({ level: config.logLevel });
  const stop = new AbortController();
  try {
    if (config.dev) await ensureDevCredentials(config.devDir, { trustDomain: config.trustDomain, logger });
    await runAgent(config, {
      logger,
      signal: stop.signal,
      onServing: () => {
        // Until the agent serves, a signal ends the process as usual.
        stopOnSignal(stop, logger);
        if (config.dev) process.stdout.write(devServingMessage(config.socket, options.self ?? 'svid-agent', dirname(config.devDir)));
      },
    });
    return EXIT.OK;
  } catch (err) {
    // One line for a person (docs/cli.md), not also a JSON log line saying the same.
    const failure = explainStartFailure(err, config);
    process.stderr.write(`svid-agent: ${failure.message}\n`);
    return failure.exitCode;
  }
}
