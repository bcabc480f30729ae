/**
 * `svid-agent validate` (like `spire-agent validate`): check what `run` would be given — flags,
 * `--config` file, environment — and load the credentials and kubeconfig it names, without
 * starting anything: no socket, no listener, no Kubernetes API call. Exit 0 and
 * "svid-agent configuration is valid." when `run` would start with it; otherwise every problem,
 * one line each, and exit 2 (the exit-code rule in docs/cli.md).
 */
import { existsSync } from 'node:fs';
import { checkAgentFiles } from '../agent/index.js';
import type { CliIo } from './cli-io.js';
import { EXIT, type ExitCode } from './exit.js';
import type { RunConfig } from './run-config.js';

/** Checks the files `config` names; returns one line per problem. */
export function checkRunFiles(config: RunConfig, now: number = Date.now()): Promise<string[]> {
  // `--dev` creates its credentials at the first run; once they exist, they are checked like any.
  return checkAgentFiles(config, { credentials: !config.dev || existsSync(config.trustAnchors), now });
}

/** Runs `validate` on an already loaded configuration; returns the exit code. */
export async function runValidateConfig(config: RunConfig, io: CliIo): Promise<ExitCode> {
  const problems = await checkRunFiles(config);
  for (const problem of problems) io.err(`svid-agent: ${problem}\n`);
  if (problems.length > 0) return EXIT.USAGE;
  const dev = config.dev && !existsSync(config.trustAnchors) ? ` (--dev will create its credentials in ${config.devDir})` : '';
  io.out(`svid-agent configuration is valid.${dev}\n`);
  return EXIT.OK;
}
