/** A logger whose JSON lines are kept in memory, so tests can assert on log entries. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';
import { guardLogLine } from './log-guard.js';

export interface CapturedLogger {
  logger: Logger;
  /** Parsed entries, in order. */
  entries: Array<Record<string, unknown>>;
  /** The raw text of every line. */
  text(): string;
}

export function captureLogger(level: 'trace' | 'debug' | 'info' = 'debug'): CapturedLogger {
  const lines: string[] = [];
  const entries: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (line.trim() === '') continue;
        guardLogLine(line, 'a captured logger');
        lines.push(line);
        entries.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  return { logger: createLogger({ level, destination: stream }), entries, text: () => lines.join('\n') };
}
