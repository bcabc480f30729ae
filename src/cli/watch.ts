/**
 * `svid-agent api watch` (docs/cli.md, like `spire-agent api watch`): keeps FetchX509SVID open and
 * prints every update in the `api fetch x509` pretty format. When the stream ends it reconnects
 * the way go-spiffe's `WatchX509Context` does (reference §7): linear backoff 1 s, 2 s, ... capped
 * at 30 s, reset by every message; INVALID_ARGUMENT stops the watch (the agent says the request
 * itself is wrong, so retrying cannot help); every other code, and a clean end, is retried.
 */
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { formatDuration } from '../duration.js';
import { describeError } from '../errors.js';
import { unreachableReason } from './call-errors.js';
import type { CliIo } from './cli-io.js';
import { EXIT, type ExitCode } from './exit.js';
import { formatPretty } from './fetch-x509.js';
import { checkX509Response } from './svid-check.js';
import { createWorkloadClient, statusName, type X509SVIDResponse } from './workload-client.js';

/** go-spiffe's default backoff (`workloadapi/backoff.go`): linear, 1 s steps, at most 30 s. */
export function linearBackoff(attempt: number): number {
  return Math.min(attempt, 30) * 1000;
}

/** Options of {@link runWatch}. */
export interface WatchOptions {
  /** Absolute path of the agent socket. */
  readonly socketPath: string;
  readonly io: CliIo;
  /** Ends the watch (SIGINT/SIGTERM); the command then exits 0. */
  readonly signal: AbortSignal;
  /** Delay before reconnect attempt `n` (1-based) in ms; default {@link linearBackoff}. */
  readonly backoff?: (attempt: number) => number;
  /** Current time in ms, for the validity checks; default `Date.now`. */
  readonly now?: () => number;
}

/** How one stream ended. */
export interface StreamEnd {
  readonly code: grpc.status;
  readonly details: string;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Opens one stream and calls `onMessage` for each message until it ends. A fresh channel each
 * time: grpc-js's own reconnect backoff would otherwise keep failing calls for up to two
 * minutes after the agent is back.
 */
function streamOnce(socketPath: string, signal: AbortSignal, onMessage: (message: X509SVIDResponse) => void): Promise<StreamEnd> {
  const client = createWorkloadClient({ socketPath });
  return new Promise<StreamEnd>((resolve) => {
    // A watch has no deadline: it lasts until the user stops it.
    const call = client.fetchX509SVID({ deadline: Number.POSITIVE_INFINITY });
    let ended = false;
    const cancel = () => call.cancel();
    const finish = (end: StreamEnd) => {
      if (ended) return;
      ended = true;
      signal.removeEventListener('abort', cancel);
      client.close();
      resolve(end);
    };
    signal.addEventListener('abort', cancel, { once: true });
    call.on('data', onMessage);
    // A failed call emits 'error' first; an OK 'status' means the agent ended the stream.
    call.on('error', (err: grpc.ServiceError) => finish({ code: err.code, details: err.details || err.message }));
    call.on('status', (status: grpc.StatusObject) => finish({ code: status.code, details: status.details }));
  });
}

/** How a stream ended, for a person: no grpc-js internals for the everyday cases. */
export function describeStreamEnd(end: StreamEnd, socketPath: string): string {
  switch (end.code) {
    case grpc.status.OK:
      return 'the agent ended the stream';
    case grpc.status.UNAVAILABLE: {
      const reason = unreachableReason(end.details);
      if (reason !== undefined) return `agent not reachable at ${socketPath} (${reason})`;
      if (/Connection dropped|ECONNRESET|EPIPE/.test(end.details)) return `lost the connection to the agent at ${socketPath}`;
      return `UNAVAILABLE: ${end.details}`;
    }
    case grpc.status.PERMISSION_DENIED:
      return `the agent issued no identity to this process (${end.details})`;
    default:
      return `${statusName(end.code)}: ${end.details}`;
  }
}

/** Runs the watch until `signal` aborts (exit 0) or the agent answers INVALID_ARGUMENT (exit 1). */
export async function runWatch(options: WatchOptions): Promise<ExitCode> {
  const { io, signal } = options;
  const backoff = options.backoff ?? linearBackoff;
  const now = options.now ?? Date.now;
  let attempt = 0;
  while (!signal.aborted) {
    let since = performance.now();
    const end = await streamOnce(options.socketPath, signal, (message) => {
      attempt = 0;
      const elapsedMs = performance.now() - since;
      since = performance.now();
      try {
        io.out(formatPretty(checkX509Response(message, now()), elapsedMs));
      } catch (err) {
        // go-spiffe reports a message it cannot parse and keeps the stream (reference §7).
        io.err(`svid-agent: watch: skipped an update: ${describeError(err)}\n`);
      }
    });
    if (signal.aborted) break;
    const what = describeStreamEnd(end, options.socketPath);
    if (end.code === grpc.status.INVALID_ARGUMENT) {
      io.err(`svid-agent: watch stopped: ${what}\n`);
      return EXIT.FAILURE;
    }
    const delayMs = backoff(++attempt);
    io.err(`svid-agent: watch: ${what}, retrying in ${formatDuration(delayMs)}\n`);
    await sleep(delayMs, signal);
  }
  return EXIT.OK;
}
