/**
 * The kept-alive connections of the Kubernetes API client (kube-http.ts): at most `maxSockets`,
 * the most recently used first, idle ones closed after a while and unref'd, each made with the
 * TLS options of the request that opened it. A request takes an idle connection made with its
 * options, a new one, or waits for the next to come free, until its deadline at most. The pool
 * moves no bytes: kube-http.ts writes requests and reads answers on what it hands out.
 */
import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';

/** TLS options of a request (as `tls.connect` takes them), from the client configuration. */
export interface KubeTlsOptions {
  readonly ca?: string | Buffer | undefined;
  readonly cert?: string | Buffer | undefined;
  readonly key?: string | Buffer | undefined;
  readonly servername?: string | undefined;
  readonly rejectUnauthorized?: boolean | undefined;
}

/** A kept-alive connection of the pool. */
export interface Connection {
  readonly socket: Socket;
  /** The TLS options it was made with: a request with others takes another connection. */
  readonly tls: KubeTlsOptions;
  /** Whether it carried a request before: the server may have closed it meanwhile. */
  used: boolean;
  /** Whether it no longer counts against the pool (closed, or being closed). */
  dropped: boolean;
  /** Whether a request is using it; octets arriving while idle close it. */
  busy: boolean;
}

/** Node's `https.Agent` default for TCP keep-alive probes on pooled connections, 1 s. */
const TCP_KEEPALIVE_DELAY_MS = 1000;

/** Where the pool connects. */
export interface ConnectionPoolOptions {
  readonly host: string;
  readonly port: number;
  /** `http:`: plain TCP, no TLS. */
  readonly plain: boolean;
  readonly maxSockets: number;
  readonly idleTimeoutMs: number;
}

/** The pool. */
export interface ConnectionPool {
  /**
   * A connection for a request with `tlsOptions`: the most recent idle one made with them, a new
   * one, or the next to come free, waited for until `deadline` (a `performance.now()` time) at most.
   * @returns `undefined` when the deadline passed first
   * @throws whatever `tls.connect` throws for unusable options; an Error once the pool is closed
   */
  acquire(tlsOptions: KubeTlsOptions, deadline: number | undefined): Promise<Connection | undefined>;
  /** Returns a connection to the pool when its answer allows (`reusable`), else closes it. */
  release(conn: Connection, reusable: boolean): void;
  /** Closes a connection and frees its place. Idempotent. */
  drop(conn: Connection): void;
  /** Closes every connection; waiting and later requests fail. */
  close(): void;
}

export function createConnectionPool(options: ConnectionPoolOptions): ConnectionPool {
  const { host, port, plain, maxSockets, idleTimeoutMs } = options;
  /** Idle connections, the most recently used last. */
  const idle: Connection[] = [];
  const all = new Set<Connection>();
  const waiting: Array<() => void> = [];
  let open = 0;
  let closed = false;

  function drop(conn: Connection): void {
    if (conn.dropped) return;
    conn.dropped = true;
    open -= 1;
    all.delete(conn);
    const at = idle.indexOf(conn);
    if (at >= 0) idle.splice(at, 1);
    conn.socket.destroy();
    waiting.shift()?.();
  }

  function connect(tlsOptions: KubeTlsOptions): Connection {
    const socket = plain
      ? net.connect({ host, port })
      : tls.connect({
          host,
          port,
          // SNI and the name checked, as node:https does: the host unless it is an IP address.
          ...(net.isIP(host) === 0 ? { servername: host } : {}),
          ...definedOnly(tlsOptions),
          ALPNProtocols: ['http/1.1'],
        });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, TCP_KEEPALIVE_DELAY_MS);
    const conn: Connection = { socket, tls: tlsOptions, used: false, dropped: false, busy: true };
    open += 1;
    all.add(conn);
    // A request reports its connection's errors; an idle connection that fails just goes.
    socket.on('error', () => undefined);
    socket.once('close', () => drop(conn));
    // Armed only while idle (release), disarmed while a request uses it (acquire).
    socket.on('timeout', () => drop(conn));
    // Nothing may arrive unasked (a stray answer would be read as the next request's): the
    // connection goes, as Go's transport closes it.
    socket.on('data', () => {
      if (!conn.busy) drop(conn);
    });
    return conn;
  }

  async function acquire(tlsOptions: KubeTlsOptions, deadline: number | undefined): Promise<Connection | undefined> {
    for (;;) {
      if (closed) throw new Error('kubernetes api client is closed');
      for (let i = idle.length - 1; i >= 0; i--) {
        const conn = idle[i] as Connection;
        if (!sameTls(conn.tls, tlsOptions)) continue;
        idle.splice(i, 1);
        conn.busy = true;
        conn.socket.setTimeout(0);
        conn.socket.ref();
        return conn;
      }
      if (open < maxSockets || idle.length > 0) {
        try {
          // Idle connections made with credentials since rotated make room first.
          if (open >= maxSockets) drop(idle[0] as Connection);
          return connect(tlsOptions);
        } catch (err) {
          // The slot this call was woken for (or found) is still free: the next waiter takes it.
          waiting.shift()?.();
          throw err;
        }
      }
      if (!(await nextFree(deadline))) return undefined;
    }
  }

  /** Waits until a connection comes free or closes (true), or until `deadline` (false). */
  function nextFree(deadline: number | undefined): Promise<boolean> {
    return new Promise((resolve) => {
      const wake = (): void => {
        if (timer) clearTimeout(timer);
        resolve(true);
      };
      waiting.push(wake);
      const timer =
        deadline === undefined
          ? undefined
          : setTimeout(
              () => {
                const at = waiting.indexOf(wake);
                if (at >= 0) waiting.splice(at, 1);
                resolve(false);
              },
              Math.max(0, deadline - performance.now()),
            );
    });
  }

  function release(conn: Connection, reusable: boolean): void {
    if (!reusable || closed || conn.socket.destroyed) {
      drop(conn);
      return;
    }
    conn.used = true;
    conn.busy = false;
    conn.socket.setTimeout(idleTimeoutMs);
    // An idle pool does not keep the process alive (node's https.Agent unrefs its free sockets too).
    conn.socket.unref();
    idle.push(conn);
    waiting.shift()?.();
  }

  return {
    acquire,
    release,
    drop,
    close() {
      closed = true;
      for (const conn of [...all]) drop(conn);
      for (const wake of waiting.splice(0)) wake();
    },
  };
}

/**
 * Whether two sets of TLS options are the same, by content: a configuration may hand out new
 * strings or buffers for the same credentials at every request.
 */
function sameTls(a: KubeTlsOptions, b: KubeTlsOptions): boolean {
  return (
    a === b ||
    (same(a.ca, b.ca) &&
      same(a.cert, b.cert) &&
      same(a.key, b.key) &&
      a.servername === b.servername &&
      a.rejectUnauthorized === b.rejectUnauthorized)
  );
}

function same(a: string | Buffer | undefined, b: string | Buffer | undefined): boolean {
  return a === b || (Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b));
}

/** `options` without its undefined fields, so that they do not override tls.connect's defaults. */
function definedOnly(options: KubeTlsOptions): tls.ConnectionOptions {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}
