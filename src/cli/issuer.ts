/**
 * `svid-agent issuer`: make the logger, hand the configuration to the central issuer
 * (`runIssuerServer`, which builds and runs everything) until SIGTERM or SIGINT. Returns the exit
 * code (docs/cli.md): 2 when what it was given is at fault (a flag, the credentials, tokenreviews
 * denied), 1 when something failed while starting.
 */
import { describeError, isAgentError } from '../errors.js';
import { createLogger } from '../log.js';
import { runIssuerServer } from '../server/index.js';
import { EXIT } from './exit.js';
import type { IssuerConfig } from './issuer-config.js';
import { stopOnSignal } from './stop-on-signal.js';

/** Runs the issuer until SIGTERM/SIGINT; returns the process exit code. */
export async function runIssuerCommand(config: IssuerConfig): Promise<number> {
  const logger = createLogger({ level: config.logLevel });
  const stop = new AbortController();
  try {
    await runIssuerServer(config, {
      logger,
      signal: stop.signal,
      onServing: (issuer) => {
        stopOnSignal(stop, logger);
        logger.info({ port: issuer.port, server_name: config.serverName, tls: !config.plaintext }, 'central issuer serving');
      },
    });
    return EXIT.OK;
  } catch (err) {
    // One line for a person (docs/cli.md), not also a JSON log line saying the same.
    process.stderr.write(`svid-agent: ${describeError(err).replaceAll('\n', ' ')}\n`);
    return isAgentError(err, 'CONFIG_INVALID', 'CREDENTIALS_INVALID') ? EXIT.USAGE : EXIT.FAILURE;
  }
}
