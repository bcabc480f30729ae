/**
 * Log hygiene for the whole test run (issue 6): every log line any test captures — in-process
 * loggers and the stderr of agent processes — is checked as it is written. A PEM block,
 * `BEGIN PRIVATE` or a JWT in a log line fails the test that produced it.
 */

/** What must never appear in a log line. */
export const SECRET_PATTERNS: ReadonlyArray<readonly [string, RegExp]> = [
  ['a PEM block', /-----BEGIN [A-Z ]+-----/],
  ['BEGIN PRIVATE', /BEGIN PRIVATE/],
  ['a JWT', /eyJ[\w-]+\.[\w-]+\.[\w-]*/],
];

/** The name of the first secret pattern `line` matches, or `undefined`. */
export function secretIn(line: string): string | undefined {
  return SECRET_PATTERNS.find(([, re]) => re.test(line))?.[0];
}

/**
 * Fails the current test (as an uncaught error, which node:test reports against it) when a log
 * line carries a secret. Only the kind of secret is reported, never the line itself.
 */
export function guardLogLine(line: string, source: string): void {
  const found = secretIn(line);
  if (found) {
    queueMicrotask(() => {
      throw new Error(`log hygiene: ${source} logged ${found}`);
    });
  }
}
