/**
 * The caps that keep hostile local callers from exhausting the agent (issue 15), and the parts
 * that enforce them, built from the `run` flags. Which limits are flags and which are constants
 * is listed in docs/security.md ("Connection limits").
 */
import type { CallerGroups } from '../attestor/index.js';
import type { Clock } from '../clock.js';
import { LOG_FIELD, type Logger } from '../log.js';
import { type BudgetRefusal, createBudget } from './budget.js';
import { BURST_LOG_WINDOW_MS, createBurstLog } from './burst-log.js';
import { type CallerGate, createCallerGate } from './caller-gate.js';
import { type ConnectionAdmission, type ConnectionRefusal, createConnectionAdmission } from './connection-admission.js';
import { type CloseReason, type ConnectionGuard, createConnectionGuard, IDLE_TIMEOUT_MS } from './connection-guard.js';
import { connectionCapFor, FD_RESERVE, fdLimit } from './fd-limit.js';

/** The limits that are flags of `run`. */
export interface ConnectionLimits {
  /** `--max-connections`: open Workload API connections in total (lowered below the fd limit). */
  readonly maxConnections: number;
  /** `--max-caller-connections`: open connections of one caller (a uid, or a pod in Kubernetes mode). */
  readonly maxCallerConnections: number;
  /** `--max-streams`: open calls (streams) in total. */
  readonly maxStreams: number;
  /** `--max-caller-streams`: open calls of one caller. */
  readonly maxCallerStreams: number;
}

/** The defaults of the flags; sized for the DaemonSet's 256 Mi memory limit (docs/security.md). */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  maxConnections: 1024,
  maxCallerConnections: 128,
  maxStreams: 4096,
  maxCallerStreams: 1024,
});

/** Streams one connection may open (HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`); more are refused by HTTP/2 itself. */
export const MAX_STREAMS_PER_CONNECTION = 1000;

/**
 * Calls of one caller attested at a time (`caller-gate.ts`); its other new calls wait their turn,
 * so one caller's burst does not delay another caller's first SVID.
 */
export const MAX_CALLER_ATTESTATIONS = 8;

/**
 * Connections the kernel queues for accept (`listen(2)` backlog; Linux caps it at
 * `net.core.somaxconn`, 4096 by default). Node's 511 filled up under a connection flood, and a good
 * client's connect then failed with EAGAIN and waited out a reconnect backoff; the agent refuses
 * excess connections right after accept, so a deep queue drains fast.
 */
export const LISTEN_BACKLOG = 4096;

/** The metric hooks of the limits. */
export interface ConnectionLimitsObserver {
  readonly onConnectionRefused?: (reason: ConnectionRefusal) => void;
  readonly onStreamRefused?: (reason: BudgetRefusal) => void;
  readonly onConnectionClosed?: (reason: CloseReason) => void;
}

/** What the Workload API server needs to enforce the limits. */
export interface EnforcedLimits {
  readonly admission: ConnectionAdmission;
  readonly guard: ConnectionGuard;
  /** Turns between callers for attestation. */
  readonly gate: CallerGate;
  /** grpc-js server options: streams per connection and the idle GOAWAY. */
  readonly serverOptions: Readonly<Record<string, number>>;
}

/** Builds admission and guard, with the connection cap lowered below the process's fd limit. */
export function enforceConnectionLimits(
  limits: ConnectionLimits,
  deps: { groups: CallerGroups; clock: Clock; logger: Logger; observer?: ConnectionLimitsObserver },
): EnforcedLimits {
  const { clock, observer } = deps;
  const log = deps.logger.child({ [LOG_FIELD.subsystem]: 'connections' });
  const fds = fdLimit();
  const maxConnections = connectionCapFor(limits.maxConnections, fds);
  if (maxConnections < limits.maxConnections) {
    log.warn(
      { fd_limit: fds, wanted: limits.maxConnections, max_connections: maxConnections, reserved: FD_RESERVE },
      'connection limit lowered to stay below the file-descriptor limit',
    );
  }
  const connections = createBudget({ total: maxConnections, perGroup: Math.min(limits.maxCallerConnections, maxConnections) });
  const streams = createBudget({ total: limits.maxStreams, perGroup: limits.maxCallerStreams });
  const logStreamRefused = createBurstLog((fields) => log.warn(fields, 'stream refused'), { windowMs: BURST_LOG_WINDOW_MS, clock });
  log.info(
    {
      max_connections: maxConnections,
      max_caller_connections: Math.min(limits.maxCallerConnections, maxConnections),
      max_streams: limits.maxStreams,
      max_caller_streams: limits.maxCallerStreams,
      fd_limit: fds,
    },
    'connection limits',
  );
  return {
    admission: createConnectionAdmission({ groups: deps.groups, connections }),
    guard: createConnectionGuard({
      streams,
      clock,
      onStreamRefused(reason, group) {
        observer?.onStreamRefused?.(reason);
        logStreamRefused({ [LOG_FIELD.reason]: reason, group });
      },
      onClosed: (reason) => observer?.onConnectionClosed?.(reason),
    }),
    gate: createCallerGate({ perGroup: MAX_CALLER_ATTESTATIONS }),
    serverOptions: {
      'grpc.max_concurrent_streams': MAX_STREAMS_PER_CONNECTION,
      'grpc.max_connection_idle_ms': IDLE_TIMEOUT_MS,
    },
  };
}
