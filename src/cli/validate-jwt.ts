/**
 * `svid-agent api validate jwt` (docs/cli.md, like `spire-agent api validate jwt`): ask the agent to
 * validate a JWT-SVID for one audience. Prints `SVID is valid.`, `SPIFFE ID : <id>` and
 * `Claims    : <json>`; a token the agent refuses (INVALID_ARGUMENT) is reported as
 * `SVID is not valid: <why>` with exit code 1. `--output json` prints the response as
 * spire-agent does (`{"claims":{...},"spiffe_id":"..."}`).
 */
import * as grpc from '@grpc/grpc-js';
import { AgentError } from '../errors.js';
import { explainCallError, jwtDisabled } from './call-errors.js';
import { type CliIo, reportFailure } from './cli-io.js';
import { ConfigError, EXIT, type ExitCode } from './exit.js';
import type { OutputFormat } from './fetch-x509.js';
import { formatSpireJson, structToJson, validateJwtSvidResponseJson } from './spire-json.js';
import { createWorkloadClient, WorkloadApiError } from './workload-client.js';

/**
 * The required flags of `api validate jwt`, checked.
 * @throws ConfigError naming each missing flag
 */
export function parseValidateFlags(flags: { audience?: string; svid?: string }): { audience: string; svid: string } {
  const problems: string[] = [];
  if (!flags.audience) problems.push('--audience: audience must be specified');
  if (!flags.svid) problems.push('--svid: svid must be specified');
  if (problems.length > 0) throw new ConfigError(problems);
  return { audience: flags.audience as string, svid: flags.svid as string };
}

/** Options of {@link runValidateJwt}. */
export interface ValidateJwtCommandOptions {
  /** Absolute path of the agent socket. */
  readonly socketPath: string;
  /** `--audience`: the one audience the token must carry. */
  readonly audience: string;
  /** `--svid`: the token. Never printed. */
  readonly svid: string;
  /** Deadline of the call, ms (`--timeout`, default 5s). */
  readonly timeoutMs: number;
  /** `--output`, default `pretty`. */
  readonly output?: OutputFormat;
  readonly io: CliIo;
}

/** Runs the command; returns the exit code (0 valid, 1 not valid or the call failed). */
export async function runValidateJwt(options: ValidateJwtCommandOptions): Promise<ExitCode> {
  const client = createWorkloadClient({ socketPath: options.socketPath });
  try {
    const response = await client
      .validateJWTSVID({ audience: options.audience, svid: options.svid }, { deadline: Date.now() + options.timeoutMs })
      .catch((err: unknown) => {
        if (err instanceof WorkloadApiError && err.status === grpc.status.INVALID_ARGUMENT) {
          throw new AgentError('JWT_SVID_INVALID', `SVID is not valid: ${detailsOf(err)}`);
        }
        throw explainCallError(err, { ...options, what: 'validating the JWT-SVID', unimplemented: jwtDisabled(options.socketPath) });
      });
    if (options.output === 'json') {
      options.io.out(formatSpireJson([validateJwtSvidResponseJson(response)]));
    } else {
      const claims = JSON.stringify(structToJson(response.claims ?? {}));
      options.io.out(`SVID is valid.\nSPIFFE ID : ${response.spiffe_id}\nClaims    : ${claims}\n`);
    }
    return EXIT.OK;
  } catch (err) {
    return reportFailure(options.io, err);
  } finally {
    client.close();
  }
}

/** The server's status details, without the `INVALID_ARGUMENT: ` prefix the error message carries. */
function detailsOf(err: WorkloadApiError): string {
  const cause = err.cause as grpc.ServiceError | undefined;
  return cause?.details ?? err.message;
}
