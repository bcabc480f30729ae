/**
 * JSON over HTTPS to the Kubernetes API on a small pool of kept-alive connections. The agent's
 * calls (TokenReview on a pod's first stream) are on a workload's start-up path: a TLS handshake
 * per call, as @kubernetes/client-node 1.4 makes (a new `https.Agent` for every request), costs
 * more than the call itself. So one `https.Agent` with `keepAlive` serves every call: sequential
 * calls reuse one connection; a burst opens at most {@link KubeHttpOptions.maxSockets}.
 *
 * Where the server is and how a request authenticates comes from a {@link KubeClientConfig}
 * (in-cluster-config.ts, kubeconfig-files.ts); this file moves bytes, bounds them and turns HTTP
 * failures into {@link KubeHttpError}.
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';

/** TLS options of a request: those of `https.request` the client configurations produce. */
export interface KubeTlsOptions {
  readonly ca?: string | Buffer | undefined;
  readonly cert?: string | Buffer | undefined;
  readonly key?: string | Buffer | undefined;
  readonly servername?: string | undefined;
  readonly rejectUnauthorized?: boolean | undefined;
}

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

/** Creates the pooled client. */
export function createKubeHttp(config: KubeClientConfig, options: KubeHttpOptions = {}): KubeHttp {
  const server = new URL(config.server);
  const plain = server.protocol === 'http:';
  const agentOptions = {
    keepAlive: true,
    maxSockets: options.maxSockets ?? DEFAULT_MAX_SOCKETS,
    maxFreeSockets: options.maxSockets ?? DEFAULT_MAX_SOCKETS,
    // The most recently used connection first, so a quiet period lets the others time out.
    scheduling: 'lifo' as const,
    timeout: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
  };
  const agent = plain ? new http.Agent(agentOptions) : new https.Agent(agentOptions);
  const request = plain ? http.request : https.request;

  /**
   * One request, given up at `limit.deadline` (a `performance.now()` time) with a plain timer,
   * not an `AbortSignal`: with `AbortSignal.timeout` a request through node:https took ~0.1 ms
   * longer (docs/performance.md), on the first SVID of every pod.
   */
  function send(path: string, payload: Buffer, target: KubeRequestTarget, limit: TimeLimit | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = request({
        agent,
        protocol: server.protocol,
        hostname: server.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: server.port,
        method: 'POST',
        path: `${server.pathname.replace(/\/$/, '')}${path}`,
        headers: {
          ...target.headers,
          accept: 'application/json',
          'content-type': 'application/json',
          'content-length': String(payload.length),
        },
        ...(plain ? {} : target.tls),
      });
      let expired = false;
      if (limit) {
        const timer = setTimeout(
          () => {
            expired = true;
            req.destroy(new KubeTimeoutError(limit.timeoutMs));
          },
          Math.max(0, limit.deadline - performance.now()),
        );
        // 'close': the answer has been read, or the request failed.
        req.once('close', () => clearTimeout(timer));
      }
      req.on('error', (err: NodeJS.ErrnoException) => {
        // The server closed a kept-alive connection just as it was reused (Node's documented
        // race): the request never reached it, so sending it again on another one is safe.
        if (req.reusedSocket && err.code === 'ECONNRESET' && !expired) {
          send(path, payload, target, limit).then(resolve, reject);
        } else reject(err);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error(`kubernetes api answer longer than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status === 401) config.unauthorized?.();
          if (status < 200 || status > 299) return reject(new KubeHttpError(status, text));
          try {
            resolve(JSON.parse(text));
          } catch (err) {
            reject(new Error('kubernetes api answered with a body that is not JSON', { cause: err }));
          }
        });
      });
      req.end(payload);
    });
  }

  return {
    async postJson(path, body, { timeoutMs } = {}) {
      const limit = timeoutMs === undefined ? undefined : { timeoutMs, deadline: performance.now() + timeoutMs };
      const target = await config.target();
      return send(path, Buffer.from(JSON.stringify(body)), target, limit);
    },
    close() {
      agent.destroy();
    },
  };
}
