/**
 * The configuration of `svid-agent run` (docs/configuration.md), produced by `loadRunConfig` in `config.ts`
 * from flags, a YAML file and the environment: the agent's configuration plus what only the
 * command itself uses (dev mode, log level).
 */
import type { AgentConfig } from '../agent/index.js';
import type { LogLevel } from '../log.js';

export type { AttestorKind } from '../agent/index.js';

export interface RunConfig extends AgentConfig {
  /** `--dev`: self-made credentials under {@link devDir}, unix attestor, local socket. */
  readonly dev: boolean;
  /** Where `--dev` keeps its credentials and socket; `./.svid-agent` (absolute). */
  readonly devDir: string;
  /** `--log-level`, default `info`. */
  readonly logLevel: LogLevel;
}
