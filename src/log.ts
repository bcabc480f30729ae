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

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Minimum level; default `info`. */
  level?: LogLevel;
  /** Where lines go; default stderr (fd 2). Tests pass a collecting stream. */
  destination?: DestinationStream;
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
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything, for tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
