/**
 * The injected logger: JSON lines on stderr (pino), constant messages, variable data in fields.
 * Never pass a private key, a token or a whole certificate as a field; `redact` is a second
 * line of defence for the field names that could carry them.
 */
import { type DestinationStream, type Logger as PinoLogger, pino } from 'pino';
import { describeError } from './errors.js';

export type Logger = PinoLogger;

/** Log levels accepted by `--log-level`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export { LOG_FIELD } from './log-fields.js';

const REDACT = ['token', 'key', 'privateKey', 'private_key', 'authorization', 'svid', '*.token', '*.key', '*.authorization'];

/**
 * Most octets of log lines held while stderr does not take them (its reader slow or stopped); a
 * line that would go over is dropped, so a stalled log pipe neither stalls the agent nor grows it.
 */
export const LOG_BUFFER_BYTES = 4 * 1024 * 1024;

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level; default `info`. */
  level?: LogLevel;
  /** Where lines go; default stderr (fd 2), see {@link stderrLines}. Tests pass a collecting stream. */
  destination?: DestinationStream;
  /** For stderr: at most this many octets wait to be written; default {@link LOG_BUFFER_BYTES}. */
  bufferBytes?: number;
}

/**
 * stderr, written asynchronously: a line is queued and handed to the kernel off the caller's turn,
 * so a log line costs no system call on a workload's path and a full pipe (the container runtime
 * reading slowly) never blocks the event loop, as a synchronous write then does for every caller
 * (docs/decisions.md, "Log lines are written asynchronously"). pino flushes what is queued
 * synchronously when the process exits.
 */
function stderrLines(bufferBytes: number): DestinationStream {
  return pino.destination({ fd: 2, sync: false, maxLength: bufferBytes });
}

/** Creates the root logger. Errors are logged as a one-line `error` string, never a stack. */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: { err: (e: unknown) => describeError(e), error: (e: unknown) => describeError(e) },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? stderrLines(options.bufferBytes ?? LOG_BUFFER_BYTES),
  );
}

/** A logger that drops everything, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
