/**
 * Where command output goes. Commands write through this instead of `process.stdout` so tests
 * can run them in-process and read what they printed.
 */
import { describeError } from '../errors.js';
import { ConfigError, EXIT, type ExitCode } from './exit.js';

/** The two output streams of a command. */
export interface CliIo {
  /** Results (stdout). */
  readonly out: (text: string) => void;
  /** Problems and progress notes (stderr). */
  readonly err: (text: string) => void;
}

/**
 * Prints a failure for a person, never a stack trace, and returns its exit code (docs/cli.md):
 * a {@link ConfigError} as one `svid-agent: <problem>` line per problem and exit 2; anything
 * else as one `svid-agent: <message>` line and exit 1.
 */
export function reportFailure(io: CliIo, err: unknown): ExitCode {
  if (err instanceof ConfigError) {
    for (const problem of err.problems) io.err(`svid-agent: ${problem}\n`);
    return EXIT.USAGE;
  }
  io.err(`svid-agent: ${describeError(err).replaceAll('\n', ' ')}\n`);
  return EXIT.FAILURE;
}
