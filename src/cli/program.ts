/**
 * The `svid-agent` command tree (docs/cli.md; the names are a stable interface). Everything the
 * process would read (argv, env, cwd, files, stdout/stderr) comes in through {@link CliContext},
 * so the whole CLI runs in-process in tests. `main.ts` is the only place that reads `process`.
 */
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { parseDuration } from '../duration.js';
import type { CertsCreateFlags } from './certs-create.js';
import { type CliIo, reportFailure } from './cli-io.js';
import { ConfigError, EXIT } from './exit.js';
import type { OutputFormat } from './fetch-x509.js';
import type { IssuerConfig } from './issuer-config.js';
import { ISSUER_OPTIONS, type IssuerFlags } from './issuer-options.js';
import type { RunAgentOptions } from './run.js';
import type { RunConfig } from './run-config.js';
import { RUN_OPTIONS, type RunFlags, type RunOptionSpec } from './run-options.js';
import { checkSocketPathLength, DEFAULT_SOCKET, parseSocketOption, parseUnixSocketUri } from './socket-address.js';
import { addFlagSuggestions, rewriteSpireFlags, valueFlags } from './spire-flags.js';
import { packageVersion } from './version.js';

/** Everything a CLI run reads or writes. */
export interface CliContext {
  /** Arguments after the program name, e.g. `['run', '--dev']`. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly io: CliIo;
  /** Reads a UTF-8 file of at most `maxBytes` that must be a regular file (`--config`). */
  readonly readFile: (path: string, maxBytes: number) => string;
  /** Runs the agent; default: `runAgentCommand` from `./run.js`, imported only when `run` is used. */
  readonly runAgent?: (config: RunConfig, options?: RunAgentOptions) => Promise<number>;
  /** Runs the central issuer; default: `runIssuerCommand` from `./issuer.js`, imported only when `issuer` is used. */
  readonly runIssuer?: (config: IssuerConfig) => Promise<number>;
  /**
   * How to run this program again, for the commands it prints (see `invocation.ts`); default
   * `svid-agent`.
   */
  readonly self?: string;
  /**
   * Returns a signal aborted at the first SIGINT or SIGTERM, for commands that run until stopped
   * (`api watch`); asked for only by them, so the others keep the default signal behaviour.
   * Default: a signal that never aborts.
   */
  readonly interrupt?: () => AbortSignal;
}

const CLIENT_TIMEOUT_DEFAULT = '5s';
const OUTPUT_FORMATS = ['pretty', 'json'] as const satisfies readonly OutputFormat[];

/**
 * Parses `argv` and runs the command. Never throws and never prints a stack trace.
 * @returns the exit code: 0 success, 1 runtime failure, 2 usage or configuration error
 */
export async function runCli(ctx: CliContext): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = buildProgram(ctx, (code) => {
    exitCode = code;
  });
  const takesValue = valueFlags(program);
  try {
    await program.parseAsync(
      rewriteSpireFlags(ctx.argv, (long) => takesValue.has(long)),
      { from: 'user' },
    );
    return exitCode;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    return reportFailure(ctx.io, err);
  }
}

function buildProgram(ctx: CliContext, setExit: (code: number) => void): Command {
  const program = new Command('svid-agent')
    .description('SPIFFE Workload API node agent with an embedded Linkerd-compatible issuer')
    // Usage errors must become exit code 2, not commander's process.exit(1).
    .exitOverride()
    .configureOutput({ writeOut: ctx.io.out, writeErr: ctx.io.err })
    .showHelpAfterError('(add --help for usage)')
    .version(packageVersion(), '-v, --version', 'print the version and exit');

  withRunOptions(program.command('run').description('serve the Workload API on a unix socket')).action(async (flags: RunFlags) => {
    const { loadRunConfig } = await import('./config.js');
    const config = loadRunConfig({ flags, env: ctx.env, cwd: ctx.cwd, readFile: ctx.readFile });
    const runAgent = ctx.runAgent ?? (await import('./run.js')).runAgentCommand;
    setExit(await runAgent(config, { self: ctx.self }));
  });
  withRunOptions(
    program
      .command('validate')
      .description('check the configuration `run` would be given (flags, --config file, credentials) without running'),
  ).action(async (flags: RunFlags) => {
    const { loadRunConfig } = await import('./config.js');
    const config = loadRunConfig({ flags, env: ctx.env, cwd: ctx.cwd, readFile: ctx.readFile });
    const { runValidateConfig } = await import('./validate-config.js');
    setExit(await runValidateConfig(config, ctx.io));
  });

  withOptions(
    program.command('issuer').description('run the central issuer: sign for node agents that hold no signing key'),
    ISSUER_OPTIONS,
  ).action(async (flags: IssuerFlags) => {
    const { loadIssuerConfig } = await import('./issuer-config.js');
    const config = loadIssuerConfig({ flags, env: ctx.env, cwd: ctx.cwd, readFile: ctx.readFile });
    const runIssuer = ctx.runIssuer ?? (await import('./issuer.js')).runIssuerCommand;
    setExit(await runIssuer(config));
  });

  const api = program.command('api').description('talk to a running agent over the Workload API');
  const fetch = api.command('fetch').description('fetch SVIDs');
  const fetchX509 = withSocket(fetch.command('x509', { isDefault: true }).description('fetch X.509-SVIDs, their keys and bundles'))
    .option('--write <DIR>', 'also write svid.N.pem, svid.N.key (mode 0600) and bundle.N.pem to DIR')
    .option('--timeout <DURATION>', `how long to wait for the agent (default ${CLIENT_TIMEOUT_DEFAULT})`)
    .addOption(new Option('--output <FORMAT>', 'pretty or json (default pretty)').choices(OUTPUT_FORMATS))
    .option('--silent', 'print nothing on stdout');
  fetchX509.action(async (flags: { socket?: string; write?: string; timeout?: string; output?: OutputFormat; silent?: boolean }) => {
    const socketPath = resolveClientSocket(flags.socket, ctx);
    const timeoutMs = parseTimeout(flags.timeout);
    const writeDir = resolveWriteDir(flags.write, ctx.cwd);
    // Command modules load on use: a CLI run should not pay for gRPC or the issuer it does not need.
    const { runFetchX509 } = await import('./fetch-x509.js');
    setExit(await runFetchX509({ socketPath, timeoutMs, writeDir, output: flags.output ?? 'pretty', silent: flags.silent, io: ctx.io }));
  });
  withSocket(fetch.command('jwt').description('fetch JWT-SVIDs and the JWT bundles'))
    .option('--audience <A[,B]>', 'audiences, comma separated (required)')
    .option('--spiffe-id <ID>', 'only this identity')
    .option('--timeout <DURATION>', `how long to wait for the agent (default ${CLIENT_TIMEOUT_DEFAULT})`)
    .addOption(new Option('--output <FORMAT>', 'pretty or json (default pretty)').choices(OUTPUT_FORMATS))
    .action(async (flags: { socket?: string; audience?: string; spiffeId?: string; timeout?: string; output?: OutputFormat }) => {
      const { parseAudienceFlag, runFetchJwt } = await import('./fetch-jwt.js');
      const audience = parseAudienceFlag(flags.audience);
      const socketPath = resolveClientSocket(flags.socket, ctx);
      const timeoutMs = parseTimeout(flags.timeout);
      setExit(
        await runFetchJwt({ socketPath, timeoutMs, audience, spiffeId: flags.spiffeId, output: flags.output ?? 'pretty', io: ctx.io }),
      );
    });
  const validate = api.command('validate').description('validate SVIDs');
  withSocket(validate.command('jwt').description('validate a JWT-SVID through the agent'))
    .option('--audience <A>', 'the audience the token must carry (required)')
    .option('--svid <TOKEN>', 'the JWT-SVID (required)')
    .option('--timeout <DURATION>', `how long to wait for the agent (default ${CLIENT_TIMEOUT_DEFAULT})`)
    .addOption(new Option('--output <FORMAT>', 'pretty or json (default pretty)').choices(OUTPUT_FORMATS))
    .action(async (flags: { socket?: string; audience?: string; svid?: string; timeout?: string; output?: OutputFormat }) => {
      const { parseValidateFlags, runValidateJwt } = await import('./validate-jwt.js');
      const required = parseValidateFlags(flags);
      const socketPath = resolveClientSocket(flags.socket, ctx);
      const timeoutMs = parseTimeout(flags.timeout);
      setExit(await runValidateJwt({ socketPath, timeoutMs, ...required, output: flags.output, io: ctx.io }));
    });
  withSocket(api.command('watch').description('print every X.509-SVID update until interrupted')).action(
    async (flags: { socket?: string }) => {
      const socketPath = resolveClientSocket(flags.socket, ctx);
      const { runWatch } = await import('./watch.js');
      const signal = ctx.interrupt?.() ?? new AbortController().signal;
      setExit(await runWatch({ socketPath, io: ctx.io, signal }));
    },
  );
  withSocket(program.command('healthcheck').description("check the agent's health over its socket (exit 0 healthy, 1 not)"))
    .option('--timeout <DURATION>', `how long to wait for the agent (default ${CLIENT_TIMEOUT_DEFAULT})`)
    .option('--verbose', 'say what is checked, and why it failed')
    .option('--shallow', 'a less stringent check: the agent answers, ready or not (liveness)')
    .action(async (flags: { socket?: string; timeout?: string; verbose?: boolean; shallow?: boolean }) => {
      const socketPath = resolveClientSocket(flags.socket, ctx);
      const timeoutMs = parseTimeout(flags.timeout);
      const { runHealthcheck } = await import('./healthcheck.js');
      setExit(await runHealthcheck({ socketPath, timeoutMs, verbose: flags.verbose, shallow: flags.shallow, io: ctx.io }));
    });

  const certs = program.command('certs').description('credentials for the embedded issuer');
  certs
    .command('create')
    .description('write a trust anchor, an issuer and a JWT key in the layout Linkerd and `run` use')
    .option('--out <DIR>', 'output directory (required)')
    .option('--trust-domain <NAME>', 'trust domain the names are made for (default cluster.local)')
    .option('--issuer-ttl <DURATION>', 'issuer certificate lifetime (default 8760h, one year)')
    .option('--force', 'replace existing files')
    .action(async (flags: CertsCreateFlags) => {
      const { parseCertsCreateFlags, runCertsCreate } = await import('./certs-create.js');
      setExit(await runCertsCreate(parseCertsCreateFlags(flags, ctx.cwd), { io: ctx.io, self: ctx.self ?? 'svid-agent', cwd: ctx.cwd }));
    });

  addFlagSuggestions(program);
  return program;
}

/** Declares every `run` option (shared by `run` and `validate`). */
function withRunOptions(command: Command): Command {
  return withOptions(command, RUN_OPTIONS);
}

/** Declares the options of a table (`run`'s, `issuer`'s). */
function withOptions(command: Command, specs: readonly RunOptionSpec[]): Command {
  for (const spec of specs) {
    const flags = spec.kind === 'boolean' ? `--${spec.flag}` : `--${spec.flag} <${spec.arg}>`;
    const env = spec.env !== undefined ? ` (env ${spec.env})` : '';
    const option = new Option(flags, `${spec.description}${env}`);
    if (spec.kind === 'list') option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    command.addOption(option);
  }
  return command;
}

function withSocket(command: Command): Command {
  return command.option(
    '--socket <PATH>',
    `agent socket, a path or unix:///path (default $SPIFFE_ENDPOINT_SOCKET, else ${DEFAULT_SOCKET})`,
  );
}

/**
 * The client commands' socket: `--socket` wins, then `SPIFFE_ENDPOINT_SOCKET` (a `unix:` URI),
 * then {@link DEFAULT_SOCKET}.
 * @throws ConfigError naming the flag or variable when the value is unusable
 */
export function resolveClientSocket(flag: string | undefined, ctx: Pick<CliContext, 'env' | 'cwd'>): string {
  if (flag !== undefined) {
    const parsed = parseSocketOption(flag, ctx.cwd);
    if (typeof parsed === 'string') throw new ConfigError([`--socket: ${parsed}`]);
    return parsed.path;
  }
  const endpoint = ctx.env.SPIFFE_ENDPOINT_SOCKET;
  if (endpoint !== undefined && endpoint !== '') {
    const parsed = parseUnixSocketUri(endpoint);
    const problem = typeof parsed === 'string' ? parsed : checkSocketPathLength(parsed.path);
    if (problem !== undefined || typeof parsed === 'string') throw new ConfigError([`SPIFFE_ENDPOINT_SOCKET: ${problem}`]);
    return parsed.path;
  }
  return DEFAULT_SOCKET;
}

function parseTimeout(text: string | undefined): number {
  try {
    const ms = parseDuration(text ?? CLIENT_TIMEOUT_DEFAULT);
    if (ms <= 0) throw new TypeError('must be longer than 0');
    return ms;
  } catch (err) {
    throw new ConfigError([`--timeout: ${(err as Error).message}`]);
  }
}

function resolveWriteDir(dir: string | undefined, cwd: string): string | undefined {
  if (dir === undefined) return undefined;
  if (dir === '') throw new ConfigError(['--write: must not be empty']);
  return resolve(cwd, dir);
}
