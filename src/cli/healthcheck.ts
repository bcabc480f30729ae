/**
 * `svid-agent healthcheck` (docs/cli.md, like `spire-agent healthcheck`): one
 * `grpc.health.v1.Health/Check` call with service `''` on the Workload API socket. It needs no
 * security header and no identity, so it works from any process that can reach the socket.
 * "Agent is healthy." and exit 0 when the agent answers SERVING; otherwise
 * "Agent is unhealthy: <reason>" on stderr and exit 1. `--shallow` (spire-agent has the flag)
 * is the less stringent check: the agent answers at all, ready (SERVING) or not yet
 * (NOT_SERVING: issuer not loaded, or cut off from the trust anchors) — a liveness check.
 */
import { stat } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { formatDuration } from '../duration.js';
import { healthDefinition } from '../protos.js';
import type { CliIo } from './cli-io.js';
import { EXIT, type ExitCode } from './exit.js';

/** Options of {@link runHealthcheck}. */
export interface HealthcheckOptions {
  /** Absolute path of the agent socket. */
  readonly socketPath: string;
  /** How long to wait for the answer, ms (`--timeout`, default 5s). */
  readonly timeoutMs: number;
  /** `--verbose`: say what is being done, and the underlying error when unhealthy. */
  readonly verbose?: boolean;
  /** `--shallow`: NOT_SERVING counts as healthy too (the agent is up, though not ready). */
  readonly shallow?: boolean;
  readonly io: CliIo;
}

/** Why the agent is not healthy: a short reason and, for `--verbose`, the underlying error. */
class Unhealthy extends Error {
  readonly detail: string | undefined;

  constructor(reason: string, detail?: string) {
    super(reason);
    this.detail = detail;
  }
}

async function checkSocketFile(socketPath: string): Promise<void> {
  try {
    if (!(await stat(socketPath)).isSocket()) throw new Unhealthy(`${socketPath} is not a unix socket`);
  } catch (err) {
    if (err instanceof Unhealthy) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new Unhealthy(code === 'ENOENT' ? `no socket at ${socketPath} (is the agent running?)` : `cannot reach ${socketPath} (${code})`);
  }
}

/** Calls Check and resolves with the serving status name (`SERVING`, `NOT_SERVING`, ...). */
function callCheck(socketPath: string, timeoutMs: number): Promise<string> {
  const method = healthDefinition().Check;
  if (!method) throw new Unhealthy('unable to determine health', 'Check missing from health.proto');
  const client = new grpc.Client(`unix:${socketPath}`, grpc.credentials.createInsecure());
  return new Promise<string>((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      (bytes: Buffer) => method.responseDeserialize(bytes) as { status?: string },
      { service: '' },
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (err, response) => {
        client.close();
        if (err) reject(unhealthyFor(err, socketPath, timeoutMs));
        else resolve(response?.status ?? 'UNKNOWN');
      },
    );
  });
}

function unhealthyFor(err: grpc.ServiceError, socketPath: string, timeoutMs: number): Unhealthy {
  const detail = `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`;
  switch (err.code) {
    case grpc.status.UNAVAILABLE:
      return new Unhealthy(`cannot connect to ${socketPath}`, detail);
    case grpc.status.DEADLINE_EXCEEDED:
      return new Unhealthy(`no answer within ${formatDuration(timeoutMs)}`, detail);
    case grpc.status.UNIMPLEMENTED:
      return new Unhealthy(`the server at ${socketPath} has no health service`, detail);
    default:
      return new Unhealthy('unable to determine health', detail);
  }
}

/** Runs the command; returns 0 when the agent is SERVING, else 1. */
export async function runHealthcheck(options: HealthcheckOptions): Promise<ExitCode> {
  const { io, socketPath } = options;
  try {
    if (options.verbose) io.out(`Checking agent health on ${socketPath}${options.shallow ? ' (shallow: up, ready or not)' : ''}...\n`);
    await checkSocketFile(socketPath);
    const status = await callCheck(socketPath, options.timeoutMs);
    const healthy = status === 'SERVING' || (options.shallow === true && status === 'NOT_SERVING');
    if (!healthy) throw new Unhealthy(`agent returned status "${status}"`);
    if (options.verbose && status !== 'SERVING') io.out(`The agent answers ${status}: it is up but not ready.\n`);
    io.out('Agent is healthy.\n');
    return EXIT.OK;
  } catch (err) {
    const unhealthy = err instanceof Unhealthy ? err : new Unhealthy('unable to determine health', (err as Error).message);
    io.err(`Agent is unhealthy: ${unhealthy.message}\n`);
    if (options.verbose && unhealthy.detail !== undefined) io.err(`  ${unhealthy.detail}\n`);
    return EXIT.FAILURE;
  }
}
