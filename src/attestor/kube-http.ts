/**
 * JSON over HTTPS to the Kubernetes API on a small pool of kept-alive connections. The agent's
 * calls (TokenReview on a pod's first stream) are on a workload's start-up path: a TLS handshake
 * per call, as @kubernetes/client-node 1.4 makes (a new `https.Agent` for every request), costs
 * more than the call itself. So one pool of kept-alive connections serves every call: sequential
 * calls reuse one connection; a burst opens at most {@link KubeHttpOptions.maxSockets}. Requests
 * are HTTP/1.1 written here, answers read by http1-response.ts (docs/decisions.md, "The API
 * client speaks HTTP/1.1 itself").
 *
 * Where the server is and how a request authenticates comes from a {@link KubeClientConfig}
 * (in-cluster-config.ts, kubeconfig-files.ts); this file moves bytes, bounds them and turns HTTP
 * failures into {@link KubeHttpError}.
 */
import { performance } from 'node:perf_hooks';
import { FIELD_NAME, FIELD_VALUE, type Http1Response, Http1ResponseReader } from './http1-response.js';
import { type Connection, createConnectionPool, type KubeTlsOptions } from './kube-connections.js';

export type { KubeTlsOptions } from './kube-connections.js';

/** How to reach and authenticate to the API server for one request. */
export interface KubeRequestTarget {
  readonly tls: KubeTlsOptions;
  /** Authentication headers (`authorization`, `impersonate-user`). */
  readonly headers: Readonly<Record<string, string>>;
}

/** Where the API server is and how to authenticate to it: what a client configuration yields. */
export interface KubeClientConfig {
  /** `https://host:port` of the API server (`http:` only when the configuration skips TLS verification). */
  readonly server: string;
  /** Where the configuration came from, for messages: `the in-cluster service account`, `--kubeconfig FILE`. */
  readonly origin: string;
  /** TLS options and headers for the next request; called once per request (credentials rotate). */
  target(): Promise<KubeRequestTarget>;
  /** Told when the API answered 401: credentials read from a file are read again at the next request. */
  unauthorized?(): void;
}

/** The API answered with a status other than 2xx. */
export class KubeHttpError extends Error {
  readonly status: number;
  /** The response body as text (a `Status` object, usually); may echo the request: never log it whole. */
  readonly body: string;

  constructor(status: number, body: string) {
    super(`kubernetes api answered HTTP ${status}`);
    this.name = 'KubeHttpError';
    this.status = status;
    this.body = body;
  }
}

/** The API did not answer a request within its time; the request was given up and its connection closed. */
export class KubeTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`kubernetes api did not answer within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/** Options of {@link createKubeHttp}. */
export interface KubeHttpOptions {
  /** Connections open at most at once; default {@link DEFAULT_MAX_SOCKETS}. */
  readonly maxSockets?: number;
  /** An idle connection is closed after this long, in milliseconds; default {@link DEFAULT_IDLE_TIMEOUT_MS}. */
  readonly idleTimeoutMs?: number;
}

/** A few connections: a burst of reviews queues briefly rather than opening a connection each. */
export const DEFAULT_MAX_SOCKETS = 4;
/** Go's `http.DefaultTransport` `IdleConnTimeout` (client-go's transport), 90 s. */
export const DEFAULT_IDLE_TIMEOUT_MS = 90_000;
/** Bound on a response body; TokenReview and SelfSubjectAccessReview answers are a few KiB. */
const MAX_RESPONSE_BYTES = 1 << 20;

/** How long a call may take, a retry included. */
interface TimeLimit {
  readonly timeoutMs: number;
  /** `performance.now()` at which it is given up. */
  readonly deadline: number;
}

/** Posts JSON to the API server. */
export interface KubeHttp {
  /**
   * POSTs `body` as JSON to `path` and returns the parsed JSON answer.
   * @param options.timeoutMs gives up after this long (the request is destroyed, and its
   *   connection with it); default no limit
   * @throws KubeHttpError when the API answers with a non-2xx status; a network error, a
   *   {@link KubeTimeoutError}, or an `Error` for an oversized or non-JSON answer
   */
  postJson(path: string, body: unknown, options?: { timeoutMs?: number }): Promise<unknown>;
  /** Closes the pooled connections. */
  close(): void;
}

/** What a request meets when its reused connection was closed under it, unanswered. */
const RESEND: unique symbol = Symbol('resend');

/**
 * Creates the pooled client. Requests are written and responses read by this file itself
 * (http1-response.ts), not by node:https: on the first SVID of every pod, node's HTTP client
 * machinery cost ~50 µs more per request than the request itself (docs/performance.md), twice
 * on that pod's path (the request, then its answer).
 */
export function createKubeHttp(config: KubeClientConfig, options: KubeHttpOptions = {}): KubeHttp {
  const server = new URL(config.server);
  const plain = server.protocol === 'http:';
  const host = server.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(server.port || (plain ? 80 : 443));
  const basePath = server.pathname.replace(/\/$/, '');
  const pool = createConnectionPool({
    host,
    port,
    plain,
    maxSockets: options.maxSockets ?? DEFAULT_MAX_SOCKETS,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
  });

  /**
   * One request, given up at `limit.deadline` (a `performance.now()` time) with a plain timer:
   * its connection is closed, and the call rejects with a {@link KubeTimeoutError}.
   */
  async function send(path: string, payload: Buffer, target: KubeRequestTarget, limit: TimeLimit | undefined): Promise<unknown> {
    const head = requestHead(`${basePath}${path}`, server.host, target.headers, payload.length);
    const conn = await pool.acquire(target.tls, limit?.deadline);
    // No connection means its deadline passed while it waited (there is one then).
    if (!conn || (limit && performance.now() >= limit.deadline)) {
      // Its time ran out while it waited for a connection: nothing is sent, the connection stays.
      if (conn) pool.release(conn, true);
      throw new KubeTimeoutError((limit as TimeLimit).timeoutMs);
    }
    const outcome = await exchange(conn, head, payload, limit);
    // Again, as node's agent does, for as long as the connections found were reused ones: each
    // that failed is closed, so this ends at a new connection at the latest.
    if (outcome === RESEND) return send(path, payload, target, limit);
    const text = outcome.body.toString('utf8');
    if (outcome.status === 401) config.unauthorized?.();
    if (outcome.status < 200 || outcome.status > 299) throw new KubeHttpError(outcome.status, text);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new Error('kubernetes api answered with a body that is not JSON', { cause: err });
    }
  }

  /**
   * Writes one request on `conn` and reads its response; the connection goes back to the pool
   * or is closed. {@link RESEND} when the server closed a kept-alive connection
   * just as it was reused, without a byte of answer: it never saw the request or never answered
   * it, so sending it again on another connection is safe (TokenReview and SelfSubjectAccessReview
   * change nothing).
   */
  function exchange(conn: Connection, head: Buffer, payload: Buffer, limit: TimeLimit | undefined): Promise<Http1Response | typeof RESEND> {
    return new Promise((resolve, reject) => {
      const { socket } = conn;
      const reader = new Http1ResponseReader(MAX_RESPONSE_BYTES);
      let failure: Error | undefined;
      let expired = false;
      let settled = false;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        socket.off('data', onData);
        socket.off('error', onError);
        socket.off('close', onClose);
        outcome();
      };
      const onData = (chunk: Buffer): void => {
        let answer: Http1Response | undefined;
        try {
          answer = reader.push(chunk);
        } catch (err) {
          pool.drop(conn);
          settle(() => reject(err));
          return;
        }
        if (answer) {
          const done = answer;
          settle(() => {
            pool.release(conn, done.reusable);
            resolve(done);
          });
        }
      };
      const onError = (err: Error): void => {
        failure ??= err;
      };
      const onClose = (): void => {
        let answer: Http1Response;
        try {
          answer = reader.end();
        } catch (err) {
          const resend = conn.used && !reader.received && !expired;
          settle(() => (resend ? resolve(RESEND) : reject(failure ?? err)));
          return;
        }
        settle(() => resolve(answer));
      };
      const timer = limit
        ? setTimeout(
            () => {
              expired = true;
              pool.drop(conn);
              settle(() => reject(new KubeTimeoutError(limit.timeoutMs)));
            },
            Math.max(0, limit.deadline - performance.now()),
          )
        : undefined;
      socket.on('data', onData);
      socket.on('error', onError);
      socket.once('close', onClose);
      // Head and body in one write.
      socket.cork();
      socket.write(head);
      socket.write(payload);
      socket.uncork();
    });
  }

  return {
    async postJson(path, body, { timeoutMs } = {}) {
      const limit = timeoutMs === undefined ? undefined : { timeoutMs, deadline: performance.now() + timeoutMs };
      const target = await config.target();
      return send(path, Buffer.from(JSON.stringify(body)), target, limit);
    },
    close() {
      pool.close();
    },
  };
}

/** Header fields this file writes itself: a configuration's own are not sent twice. */
const OWN_FIELDS: ReadonlySet<string> = new Set(['host', 'accept', 'content-type', 'content-length', 'transfer-encoding', 'connection']);

/**
 * The request line and header fields of a JSON POST, as one latin1 buffer.
 * @throws TypeError when a header name or value could break the message or would be sent altered
 */
function requestHead(path: string, hostHeader: string, headers: Readonly<Record<string, string>>, length: number): Buffer {
  let head = `POST ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (!FIELD_NAME.test(name) || !FIELD_VALUE.test(value)) {
      throw new TypeError(`kubernetes api request header ${JSON.stringify(name)} is not a valid header field`);
    }
    if (!OWN_FIELDS.has(name.toLowerCase())) head += `${name}: ${value}\r\n`;
  }
  head += `Accept: application/json\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
  return Buffer.from(head, 'latin1');
}
