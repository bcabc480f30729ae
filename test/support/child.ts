/** Runs `child-client.ts` as a separate process and collects its JSON events. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HANG_MS } from './wait-until.js';

const CLIENT = fileURLToPath(new URL('./child-client.ts', import.meta.url));

export interface ChildEvent {
  event: 'ready' | 'data' | 'status' | 'retry';
  pid?: number;
  code?: number;
  details?: string;
  message?: Record<string, unknown>;
}

export interface RunningChild {
  readonly process: ChildProcess;
  readonly events: ChildEvent[];
  /**
   * Resolves with the first event matching `pred` (including ones already seen); fails at once if
   * the process exits first, and after `timeoutMs` (default {@link HANG_MS}) if it never comes.
   */
  waitFor(pred: (e: ChildEvent) => boolean, timeoutMs?: number): Promise<ChildEvent>;
  /** Resolves when the process exits, with all events. */
  done: Promise<ChildEvent[]>;
  /** With `--wait-stdin`: lets the client connect. */
  go(): void;
}

/** Starts the client with `args` (see child-client.ts); `spawnOptions` can set uid/gid. */
export function startChild(args: string[], spawnOptions: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {}): RunningChild {
  const child = spawn(process.execPath, ['--import', 'tsx', CLIENT, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...spawnOptions });
  const events: ChildEvent[] = [];
  const waiters: Array<{ pred: (e: ChildEvent) => boolean; resolve: (e: ChildEvent) => void; exited: () => void }> = [];
  let buffer = '';
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += String(d);
  });
  child.stdout?.on('data', (d) => {
    buffer += String(d);
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf('\n');
      if (!line.trim()) continue;
      const event = JSON.parse(line) as ChildEvent;
      events.push(event);
      for (const w of [...waiters]) {
        if (w.pred(event)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(event);
        }
      }
    }
  });
  const done = new Promise<ChildEvent[]>((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(events) : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
  // Once stdout has closed with the process, an event still awaited never comes.
  let closed = false;
  child.once('close', () => {
    closed = true;
    for (const w of waiters.splice(0)) w.exited();
  });
  // A child the test kills on purpose must not become an unhandled rejection.
  done.catch(() => undefined);
  return {
    process: child,
    events,
    done,
    go: () => child.stdin?.write('go\n'),
    waitFor(pred, timeoutMs = HANG_MS) {
      const seen = events.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const fail = (why: string) => {
          const at = waiters.indexOf(waiter);
          if (at >= 0) waiters.splice(at, 1);
          reject(new Error(`${why} waiting for child event; got ${JSON.stringify(events)} ${stderr}`));
        };
        const timer = setTimeout(() => fail('timed out'), timeoutMs);
        const waiter = {
          pred,
          resolve: (e: ChildEvent) => {
            clearTimeout(timer);
            resolve(e);
          },
          exited: () => {
            clearTimeout(timer);
            reject(
              new Error(
                `child exited (${child.exitCode ?? child.signalCode}) while waiting for an event; got ${JSON.stringify(events)} ${stderr}`,
              ),
            );
          },
        };
        if (closed) return waiter.exited();
        waiters.push(waiter);
      });
    },
  };
}

/** Runs the client to completion and returns its events. */
export function runChild(args: string[], spawnOptions: { uid?: number; gid?: number } = {}): Promise<ChildEvent[]> {
  return startChild(args, spawnOptions).done;
}

/** An X509SVID as the client received it, bytes decoded. */
export interface ReceivedSvid {
  readonly spiffe_id: string;
  readonly x509_svid: Buffer;
  readonly x509_svid_key: Buffer;
  readonly bundle: Buffer;
}

/**
 * `svids[0]` of a FetchX509SVID data event.
 * @throws Error when the event carries no SVID, naming what it carried
 */
export function firstSvid(e: ChildEvent | undefined): ReceivedSvid {
  const svid = (e?.message?.svids as Array<Record<string, string>> | undefined)?.[0];
  if (!svid) throw new Error(`no SVID in ${JSON.stringify(e)}`);
  const bytes = (field: string) => Buffer.from(svid[field] ?? '', 'base64');
  return { spiffe_id: svid.spiffe_id ?? '', x509_svid: bytes('x509_svid'), x509_svid_key: bytes('x509_svid_key'), bundle: bytes('bundle') };
}

/** The first data event's message. */
export function firstData(events: readonly ChildEvent[]): ChildEvent | undefined {
  return events.find((e) => e.event === 'data');
}

/** The final status event. */
export function finalStatus(events: ChildEvent[]): ChildEvent {
  const last = events.findLast((e) => e.event === 'status');
  if (!last) throw new Error(`no status event in ${JSON.stringify(events)}`);
  return last;
}
