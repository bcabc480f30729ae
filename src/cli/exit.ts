/**
 * Exit codes of the `svid-agent` command (docs/cli.md) and the error that carries usage and
 * configuration problems to the point where they become exit code 2.
 */
import { AgentError } from '../errors.js';

/** 0 success, 1 runtime failure, 2 usage or configuration error (docs/cli.md). */
export const EXIT = { OK: 0, FAILURE: 1, USAGE: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * Bad command-line input or configuration. `problems` holds one line per problem, each naming
 * the key it is about (`--svid-ttl: ...`, `agent.yaml: svidTtl: ...`, `NODE_NAME: ...`), so all
 * of them can be shown at once. The CLI prints them to stderr and exits with {@link EXIT.USAGE}.
 */
export class ConfigError extends AgentError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    const first = problems[0] ?? 'invalid configuration';
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : '';
    super('CONFIG_INVALID', `${first}${more}`);
    this.problems = problems;
  }
}

/** True when `err` is a {@link ConfigError}. */
export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}
