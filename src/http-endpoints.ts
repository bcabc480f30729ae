/**
 * The HTTP listener of `--health-addr` (docs/cli.md, docs/configuration.md): `/live`, `/ready` and `/metrics`, for the
 * kubelet's probes and Prometheus. Probes and scrapes come every few seconds, so requests are
 * not logged; only start, stop and failures are.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentError, describeError } from './errors.js';
import { LOG_FIELD, type Logger } from './log.js';
import type { Receiver } from './value-channel.js';

/** Named conditions that must all hold for `/ready` to answer 200 (e.g. `issuer`, `socket`). */
export type ReadinessChecks = Readonly<Record<string, Pick<Receiver<boolean>, 'get'>>>;

/** What `/ready` answers, also its JSON body. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, boolean>>;
}

/** Evaluates every check now. Pure apart from reading the receivers. */
export function readinessReport(checks: ReadinessChecks): ReadinessReport {
  const results = Object.fromEntries(Object.entries(checks).map(([name, check]) => [name, check.get()]));
  return { ready: Object.values(results).every(Boolean), checks: results };
}

/** The part of the metrics `/metrics` needs. */
export interface MetricsText {
  readonly contentType: string;
  render(): Promise<string>;
}

/** Options of {@link startHttpEndpoints}. */
export interface HttpEndpointsOptions {
  /** `HOST:PORT` or `[IPv6]:PORT`, already validated (`--health-addr`); port 0 picks a free one. */
  readonly address: string;
  readonly readiness: ReadinessChecks;
  readonly metrics: MetricsText;
  readonly logger: Logger;
}

/** A listening HTTP endpoint. */
export interface HttpEndpoints {
  /** `http://host:port` actually bound (the real port when 0 was asked for). */
  readonly url: string;
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

/** Splits `HOST:PORT` / `[V6]:PORT`. */
function splitHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  const port = Number(address.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new TypeError(`not HOST:PORT: ${address}`);
  return { host, port };
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json', `${JSON.stringify(body)}\n`);

/**
 * Starts the listener. `/live` answers 200 while the process serves requests at all (the event
 * loop runs); `/ready` 200 when every readiness check holds, else 503, both with a small JSON
 * body; `/metrics` the Prometheus text. Other paths 404; methods other than GET/HEAD 405.
 * @throws AgentError `CONFIG_INVALID` naming the address when it cannot be bound (in use, not
 *   a local address, permission denied)
 */
export async function startHttpEndpoints(options: HttpEndpointsOptions): Promise<HttpEndpoints> {
  const { host, port } = splitHostPort(options.address);
  const log = options.logger.child({ [LOG_FIELD.subsystem]: 'http' });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, { error: 'method not allowed' });
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    switch (path) {
      case '/live':
        return json(res, 200, { live: true });
      case '/ready': {
        const report = readinessReport(options.readiness);
        return json(res, report.ready ? 200 : 503, report);
      }
      case '/metrics':
        return send(res, 200, options.metrics.contentType, await options.metrics.render());
      default:
        return json(res, 404, { error: 'not found' });
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.warn({ [LOG_FIELD.error]: describeError(err) }, 'http request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new AgentError('CONFIG_INVALID', `--health-addr ${options.address}: cannot listen (${err.code ?? describeError(err)})`, {
          cause: err,
        }),
      );
    });
    server.listen({ host, port }, () => resolve());
  });
  server.on('error', (err) => log.error({ [LOG_FIELD.error]: describeError(err) }, 'http server error'));
  const bound = server.address() as AddressInfo;
  const url = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  log.info({ url }, 'serving health and metrics');

  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Probe and scrape connections are keep-alive; they must not hold shutdown open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
