/**
 * The life of each admitted Workload API connection after accept (issue 15):
 * - **calls**: a grpc-js server interceptor counts each connection's open calls (streams) and
 *   refuses a call with RESOURCE_EXHAUSTED when the stream budget, in total or of the caller's
 *   group, is spent;
 * - **first call**: a connection that has not started a call {@link FIRST_CALL_TIMEOUT_MS} after
 *   accept (no preface, or a preface and nothing else) is closed;
 * - **idle**: a connection with no open call for {@link IDLE_TIMEOUT_MS} is sent a GOAWAY by
 *   grpc-js (`grpc.max_connection_idle_ms`, which counts streams, so keepalive pings do not reset
 *   it and a silent stream held for hours keeps its connection), and closed here
 *   {@link IDLE_GRACE_MS} later if the peer has not closed it by then;
 * - **hang-up**: a connection whose peer has closed is closed, checked with one `poll(2)` for all
 *   connections ({@link hungUp}), because Node's HTTP/2 stops reading after its own GOAWAY and
 *   would never notice.
 * All of it runs on one coarse timer ({@link SWEEP_MS}), armed only while connections are open.
 */
import { ServerInterceptingCall, type ServerInterceptor, status } from '@grpc/grpc-js';
import type { Clock } from '../clock.js';
import type { Budget, BudgetRefusal } from './budget.js';
import { hungUp as pollHungUp } from './socket-hangups.js';

/** A connection that starts no call within this long after accept is closed, ms. */
export const FIRST_CALL_TIMEOUT_MS = 10_000;
/** With no open call for this long, a connection is sent a GOAWAY, ms (`grpc.max_connection_idle_ms`). */
export const IDLE_TIMEOUT_MS = 60_000;
/** ...and closed this long after that if the peer kept it open, ms. */
export const IDLE_GRACE_MS = 10_000;
/** How often the timer looks at the connections, ms. */
export const SWEEP_MS = 1_000;

/** Why the guard closed a connection (the `reason` label of the metric). */
export type CloseReason = 'hangup' | 'no_call' | 'idle';

/** One admitted connection, as the guard follows it. */
export interface GuardedConnection {
  /** The name grpc-js reports as each call's peer (`uds:<n>`). */
  readonly id: string;
  /** The caller group whose stream budget its calls use. */
  readonly group: string;
  /** The socket's file descriptor, for the hang-up check (negative: none). */
  readonly fd: number;
  /** Closes the connection at once. */
  destroy(): void;
}

/** Timer functions, injectable so tests drive the sweep. */
export interface SweepTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface ConnectionGuardOptions {
  /** Open calls, in total and per caller group. */
  readonly streams: Budget;
  readonly clock: Clock;
  readonly timers?: SweepTimers;
  /** Default: `poll(2)` through koffi. */
  readonly hungUp?: (fds: readonly number[]) => number[];
  /** A call was refused (metrics, log). */
  readonly onStreamRefused?: (reason: BudgetRefusal, group: string) => void;
  /** The guard closed a connection (metrics). */
  readonly onClosed?: (reason: CloseReason) => void;
}

export interface ConnectionGuard {
  /** Follows `connection` until {@link ConnectionGuard.remove}. */
  add(connection: GuardedConnection): void;
  /** The connection closed. */
  remove(id: string): void;
  /** Counts and caps calls; give it to the grpc-js `Server`. */
  readonly interceptor: ServerInterceptor;
  /** Runs one sweep now (the timer does it every {@link SWEEP_MS}). */
  sweep(): void;
  /** Stops the timer. */
  close(): void;
}

interface State {
  readonly connection: GuardedConnection;
  readonly acceptedAt: number;
  calls: number;
  /** When the last call ended; `undefined` before the first call. */
  idleSince: number | undefined;
}

const nodeTimers: SweepTimers = {
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export function createConnectionGuard(options: ConnectionGuardOptions): ConnectionGuard {
  const { streams, clock } = options;
  const timers = options.timers ?? nodeTimers;
  const hungUp = options.hungUp ?? pollHungUp;
  const open = new Map<string, State>();
  let timer: unknown;

  function close(state: State, reason: CloseReason): void {
    open.delete(state.connection.id);
    options.onClosed?.(reason);
    state.connection.destroy();
  }

  function sweep(): void {
    const states = [...open.values()];
    for (const i of hungUp(states.map((s) => s.connection.fd))) close(states[i] as State, 'hangup');
    const now = clock.now();
    for (const state of open.values()) {
      if (state.calls > 0) continue;
      if (state.idleSince === undefined) {
        if (now - state.acceptedAt >= FIRST_CALL_TIMEOUT_MS) close(state, 'no_call');
      } else if (now - state.idleSince >= IDLE_TIMEOUT_MS + IDLE_GRACE_MS) close(state, 'idle');
    }
    if (open.size === 0) stopTimer();
  }

  function stopTimer(): void {
    if (timer === undefined) return;
    timers.clearInterval(timer);
    timer = undefined;
  }

  const interceptor: ServerInterceptor = (_method, call) => {
    const state = open.get(call.getPeer());
    // A call on a connection not followed here (closing already) goes on: the resolver refuses it.
    if (!state) return new ServerInterceptingCall(call);
    let counted = false;
    const ended = () => {
      if (!counted) return;
      counted = false;
      streams.give(state.connection.group);
      if (--state.calls === 0) state.idleSince = clock.now();
    };
    return new ServerInterceptingCall(call, {
      start(next) {
        const refusal = streams.take(state.connection.group);
        if (refusal) {
          options.onStreamRefused?.(refusal, state.connection.group);
          call.sendStatus({ code: status.RESOURCE_EXHAUSTED, details: 'too many open streams; retry later' });
          return;
        }
        counted = true;
        state.calls++;
        next({ onCancel: ended });
      },
      sendStatus(st, next) {
        ended();
        next(st);
      },
    });
  };

  return {
    add(connection) {
      open.set(connection.id, { connection, acceptedAt: clock.now(), calls: 0, idleSince: undefined });
      timer ??= timers.setInterval(sweep, SWEEP_MS);
    },
    remove(id) {
      open.delete(id);
      if (open.size === 0) stopTimer();
    },
    interceptor,
    sweep,
    close() {
      stopTimer();
      open.clear();
    },
  };
}
