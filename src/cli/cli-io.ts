/**
 * Where command output goes. Commands write through this instead of `process.stdout` so tests
 * can run them in-process and read what they printed.
 */
import { describeError } from '../errors.js';

/** The two output streams of a command. */
export interface CliIo {
  /** Results (stdout). */
  readonly out: (text: string) => void;
  /** Problems and progress notes (stderr). */
  readonly err: (text: string) => void;
}

/** Prints a failure as one line, `svid-agent: <message>`, never a stack trace. */
export function reportFailure(io: CliIo, err: unknown): void {
  io.err(`svid-agent: ${describeError(err).replaceAll('\n', ' ')}\n`);
}
